"""Pure pieces of the Dagster code location and the GX suites, without a warehouse."""

import great_expectations as gx

from expectations.suites import SUITES
from orchestration.checks.quality import SUITE_ASSETS, gx_checks
from orchestration.dbt_project import TelecomDbtTranslator


def test_dbt_groups_follow_the_project_folders():
    translator = TelecomDbtTranslator()
    assert translator.get_group_name({"resource_type": "seed", "fqn": ["telecom", "rate_cards"]}) == "reference"
    assert (
        translator.get_group_name({"resource_type": "model", "fqn": ["telecom", "rating", "rated_usage"]}) == "rating"
    )
    model = {"resource_type": "model", "fqn": ["telecom", "staging", "stg_crm__customers"]}
    assert translator.get_group_name(model) == "staging"
    snapshot = {"resource_type": "snapshot", "fqn": ["telecom", "rating_cycle_totals_history"]}
    assert translator.get_group_name(snapshot) == "rating"


def test_every_suite_guards_an_asset_and_becomes_a_blocking_check():
    assert {suite.layer for suite in SUITES} <= set(SUITE_ASSETS)
    names = {suite.name for suite in SUITES}
    assert len(names) == len(SUITES) == 3
    specs = [spec for check in gx_checks for spec in check.check_specs]
    assert {spec.name for spec in specs} == {f"gx_{name}" for name in names}
    assert all(spec.blocking for spec in specs)


def test_every_suite_is_a_select_with_expectations_on_its_columns():
    for suite in SUITES:
        assert suite.query.strip().lower().startswith(("select", "with"))
        assert suite.expectations and all(isinstance(e, gx.expectations.Expectation) for e in suite.expectations)
        columns = [e.column for e in suite.expectations if hasattr(e, "column")]
        assert all(column in suite.query for column in columns), suite.name
