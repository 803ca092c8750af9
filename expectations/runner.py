"""Run the suites through a Great Expectations file context in expectations/gx/.

The data source's connection string is `${TELECOM_GX_DATABASE_URL}`: GX resolves it from the
environment when it connects, so no credential is written to the context's files.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import great_expectations as gx
import psycopg2

from expectations.suites import SUITES, SUITES_BY_NAME, Suite
from reporting.run_history import expectation_records, record_quality_results

CONTEXT_DIR = Path(__file__).resolve().parent
DATA_SOURCE = "warehouse"
URL_VARIABLE = "TELECOM_GX_DATABASE_URL"


@dataclass
class SuiteOutcome:
    suite: str
    success: bool
    evaluated: int
    failed: list[str]

    @property
    def summary(self) -> str:
        state = "passed" if self.success else "FAILED"
        detail = f": {', '.join(self.failed)}" if self.failed else ""
        return f"{self.suite}: {state} ({self.evaluated} expectations){detail}"


def get_context(database_url: str):
    """The file context, with the warehouse registered lazily (add_or_update) from the environment."""
    os.environ[URL_VARIABLE] = database_url
    context = gx.get_context(mode="file", project_root_dir=str(CONTEXT_DIR))
    context.data_sources.add_or_update_postgres(name=DATA_SOURCE, connection_string="${" + URL_VARIABLE + "}")
    return context


def _validation_definition(context, suite: Suite):
    source = context.data_sources.get(DATA_SOURCE)
    asset = next((a for a in source.assets if a.name == suite.name), None)
    if asset is not None:
        source.delete_asset(suite.name)
    # GX wants a query that starts with SELECT; the suites may open with a CTE
    asset = source.add_query_asset(name=suite.name, query=f"select * from ({suite.query.strip()}) as suite_rows")
    batch = asset.add_batch_definition_whole_table(name=f"{suite.name}_all")
    expectation_suite = context.suites.add_or_update(
        gx.ExpectationSuite(name=suite.name, expectations=[e.copy() for e in suite.expectations])
    )
    return context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=suite.name, data=batch, suite=expectation_suite)
    )


@contextmanager
def _context_lock():
    """One writer of the file context at a time: Dagster may run the suites' checks in parallel processes."""
    CONTEXT_DIR.joinpath("gx").mkdir(exist_ok=True)
    with open(CONTEXT_DIR / "gx" / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_suites(database_url: str, names: list[str] | None = None, build_docs: bool = False) -> list[SuiteOutcome]:
    """Validate the named suites (all by default); with build_docs, through a checkpoint that updates the docs."""
    with _context_lock():
        return _run_suites(database_url, names, build_docs)


def _run_suites(database_url: str, names: list[str] | None, build_docs: bool) -> list[SuiteOutcome]:
    context = get_context(database_url)
    # registering the data source replaces its assets, so every suite's asset and validation definition is
    # written again (stored checkpoints refer to them); only the selected suites run
    definitions = {s.name: _validation_definition(context, s) for s in SUITES}
    suites = [SUITES_BY_NAME[n] for n in names] if names else SUITES
    selected = [definitions[s.name] for s in suites]
    if build_docs:
        checkpoint = context.checkpoints.add_or_update(
            gx.Checkpoint(
                name="suites_" + "_".join(s.name for s in suites),
                validation_definitions=selected,
                actions=[gx.checkpoint.UpdateDataDocsAction(name="update_data_docs")],
            )
        )
        results = list(checkpoint.run().run_results.values())
    else:
        results = [d.run() for d in selected]
    record_history(database_url, suites, results)
    outcomes = []
    for suite, result in zip(suites, results, strict=True):
        failed = [
            f"{r.expectation_config.type}({r.expectation_config.kwargs.get('column', '')})"
            for r in result.results
            if not r.success
        ]
        outcomes.append(SuiteOutcome(suite.name, bool(result.success), len(result.results), failed))
    return outcomes


def record_history(database_url: str, suites: list[Suite], results: list) -> None:
    """Every validation goes to raw.quality_check_results, for the pipeline-health marts."""
    validated_at = dt.datetime.now(dt.UTC).isoformat()
    conn = psycopg2.connect(database_url.replace("postgresql+psycopg2://", "postgresql://", 1))
    try:
        for suite, result in zip(suites, results, strict=True):
            record_quality_results(conn, suite.name, validated_at, expectation_records(result))
    finally:
        conn.close()
