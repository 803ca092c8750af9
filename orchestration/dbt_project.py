"""The dbt project as Dagster sees it, and how its nodes become assets (one translator, one module)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject

from stack.settings import REPO_ROOT

# prepare_if_dev runs `dbt` from PATH; the virtualenv that runs Dagster holds it even when PATH does not
_venv_bin = str(Path(sys.executable).parent)
if _venv_bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _venv_bin + os.pathsep + os.environ.get("PATH", "")

telecom_project = DbtProject(project_dir=REPO_ROOT / "dbt_project", profiles_dir=REPO_ROOT / "dbt_project")
# `dagster dev` parses the project itself; elsewhere `make dagster-manifest` (dbt parse) has done it
telecom_project.prepare_if_dev()


class TelecomDbtTranslator(DagsterDbtTranslator):
    """Groups follow the dbt folders (staging, mediation, rating); seeds form the `reference` group.

    Sources keep dagster-dbt's default keys ([source, table]), which the ingestion assets produce."""

    def __init__(self):
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        resource_type = dbt_resource_props["resource_type"]
        if resource_type == "seed":
            return "reference"
        if resource_type == "snapshot":
            return "rating"  # the re-rating history
        if resource_type == "model":
            fqn = dbt_resource_props["fqn"]
            return fqn[1] if len(fqn) > 2 else resource_type
        return super().get_group_name(dbt_resource_props)
