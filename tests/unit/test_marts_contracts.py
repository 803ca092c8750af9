"""Every reporting mart is documented for BI users and dbt docs: an enforced contract, a description, and a
described, typed column list that matches the model's SQL."""

import re
from pathlib import Path

import pytest
import yaml

MARTS = Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "marts"


def _documented_models() -> list[dict]:
    models = []
    for path in sorted(MARTS.glob("*/_*__models.yml")):
        models += yaml.safe_load(path.read_text())["models"]
    return models


def test_every_mart_sql_file_is_documented():
    documented = {m["name"] for m in _documented_models()}
    assert documented == {p.stem for p in MARTS.glob("*/*.sql")}


@pytest.mark.parametrize("model", _documented_models(), ids=lambda m: m["name"])
def test_the_mart_has_a_contract_and_every_column_is_described(model):
    assert model["config"]["contract"]["enforced"] is True
    assert len(model.get("description", "")) > 20
    assert model["columns"]
    for column in model["columns"]:
        assert column.get("data_type"), (model["name"], column["name"])
        assert len(column.get("description", "")) > 3, (model["name"], column["name"])
    sql = (next(MARTS.glob(f"*/{model['name']}.sql"))).read_text()
    for column in model["columns"]:
        assert re.search(rf"\b{column['name']}\b", sql), f"{model['name']}.{column['name']} is not in its SQL"
