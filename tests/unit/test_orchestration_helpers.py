"""Pure pieces of the Dagster code location and the GX suites, without a warehouse."""

import datetime as dt
from zoneinfo import ZoneInfo

import great_expectations as gx
import pytest

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
    assert len(names) == len(SUITES) == 4
    specs = [spec for check in gx_checks for spec in check.check_specs]
    assert {spec.name for spec in specs} == {f"gx_{name}" for name in names}
    assert all(spec.blocking for spec in specs)


def test_every_suite_is_a_select_with_expectations_on_its_columns():
    for suite in SUITES:
        assert suite.query.strip().lower().startswith(("select", "with"))
        assert suite.expectations and all(isinstance(e, gx.expectations.Expectation) for e in suite.expectations)
        columns = [e.column for e in suite.expectations if hasattr(e, "column")]
        assert all(column in suite.query for column in columns), suite.name


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2026-10-24", "2026-09"),  # the 22 September cycle ended on 22 October, plus 2 grace days
        ("2026-11-03", "2026-10"),  # the 1 October cycle ended on 1 November
        ("2027-01-03", "2026-12"),  # across the year end
        ("2026-03-02", "2026-01"),  # 28 January to 28 February, in a 28-day February
        ("2026-10-31", None),  # a cycle would have ended on the 29th: no bill-cycle day is over 28
        ("2026-10-02", None),  # ... or on the 30th
    ],
)
def test_the_daily_schedule_bills_the_cycle_month_that_turned_billable(day, expected):
    from orchestration.assets.billing import billable_cycle_month

    assert billable_cycle_month(dt.date.fromisoformat(day), grace_days=2) == expected


def test_the_schedule_requests_the_partition_with_the_billing_date():
    import dagster as dg

    from orchestration.assets.billing import daily_billing_schedule

    paris = ZoneInfo("Europe/Paris")
    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 10, 24, 6, tzinfo=paris))
    request = daily_billing_schedule(context)
    assert isinstance(request, dg.RunRequest)
    assert request.partition_key == "2026-09-01"
    assert request.run_config == {"ops": {"billing_dbt_assets": {"config": {"billing_date": "2026-10-24"}}}}
    skipped = daily_billing_schedule(
        dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 10, 31, 6, tzinfo=paris))
    )
    assert isinstance(skipped, dg.SkipReason)


def test_a_partition_becomes_the_dbt_billing_vars():
    from orchestration.assets.billing import billing_vars

    assert billing_vars("2026-09-01", "2026-10-24") == {"billing_date": "2026-10-24", "billing_cycle_month": "2026-09"}
    assert billing_vars("2026-09-01")["billing_date"] == dt.datetime.now(ZoneInfo("Europe/Paris")).date().isoformat()


def test_the_freshness_checks_fail_once_raw_and_rated_data_are_over_an_hour_old():
    import dagster as dg
    from dagster._core.test_utils import freeze_time

    from orchestration.checks.quality import freshness_checks

    keys = [dg.AssetKey(["kafka", "usage_native"]), dg.AssetKey(["rating", "rated_usage"])]
    job = dg.define_asset_job("freshness", selection=dg.AssetSelection.checks(*freshness_checks))
    defs = dg.Definitions(assets=[dg.AssetSpec(k) for k in keys], asset_checks=freshness_checks, jobs=[job])
    instance = dg.DagsterInstance.ephemeral()
    updated = dt.datetime(2026, 11, 22, 10, tzinfo=dt.UTC)
    with freeze_time(updated):
        for key in keys:
            instance.report_runless_asset_event(dg.AssetMaterialization(key))

    def evaluate(at: dt.datetime) -> dict[str, bool]:
        with freeze_time(at):
            result = defs.resolve_job_def("freshness").execute_in_process(instance=instance)
        return {e.asset_key.to_user_string(): e.passed for e in result.get_asset_check_evaluations()}

    assert evaluate(updated + dt.timedelta(minutes=30)) == {"kafka/usage_native": True, "rating/rated_usage": True}
    assert evaluate(updated + dt.timedelta(hours=2)) == {"kafka/usage_native": False, "rating/rated_usage": False}
