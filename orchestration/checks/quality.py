"""Great Expectations suites as blocking asset checks, and freshness checks on raw and rated data."""

import datetime as dt

import dagster as dg

from expectations.suites import SUITES
from orchestration.resources import GreatExpectationsResource, PostgresResource

# which asset each suite guards: the raw landing, the mediated events, the rated events, the invoices
SUITE_ASSETS = {
    "raw": dg.AssetKey(["kafka", "usage_native"]),
    "mediation": dg.AssetKey(["mediation", "mediated_usage"]),
    "rating": dg.AssetKey(["rating", "rated_usage"]),
    "billing": dg.AssetKey(["billing", "invoices"]),
}


def build_gx_check(suite_name: str, asset_key: dg.AssetKey) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset_key,
        name=f"gx_{suite_name}",
        blocking=True,
        description=f"Great Expectations suite `{suite_name}` (expectations/suites.py)",
    )
    def _check(warehouse: PostgresResource, gx: GreatExpectationsResource) -> dg.AssetCheckResult:
        outcome = gx.run(warehouse, suite_name)
        return dg.AssetCheckResult(
            passed=outcome.success,
            # a failed suite means numbers a person should not trust: ERROR blocks what is downstream
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"expectations": outcome.evaluated, "failed": ", ".join(outcome.failed) or "none"},
        )

    return _check


gx_checks = [build_gx_check(suite.name, SUITE_ASSETS[suite.layer]) for suite in SUITES]

freshness_checks = dg.build_last_update_freshness_checks(
    assets=[dg.AssetKey(["kafka", "usage_native"]), dg.AssetKey(["rating", "rated_usage"])],
    lower_bound_delta=dt.timedelta(hours=1),
)
freshness_sensor = dg.build_sensor_for_freshness_checks(freshness_checks=freshness_checks)
