import datetime as dt

import pytest

from ingestion.customers import BILL_CYCLE_DAYS, build_base, luhn_complete
from ingestion.profiles import load_profile
from ingestion.reference import load_reference
from stack.settings import ConfigError
from tests.conftest import run_module


def test_same_seed_gives_the_same_customer_base():
    profile = load_profile("demo")
    first, again = build_base(profile, load_reference()), build_base(profile, load_reference())
    assert first == again
    other = build_base(load_profile("demo", {"seed": 7}), load_reference())
    assert [s.msisdn for s in other[1]] != [s.msisdn for s in first[1]]


def test_customer_base_shape():
    profile = load_profile("small")
    customers, subscriptions = build_base(profile, load_reference())
    assert len(subscriptions) == profile.subscribers
    assert {c.bill_cycle_day for c in customers} == set(BILL_CYCLE_DAYS)
    assert len({s.msisdn for s in subscriptions}) == len(subscriptions)
    assert all(s.msisdn.startswith(("336", "337")) and len(s.msisdn) == 11 for s in subscriptions)
    assert all(s.imsi.startswith("20877") and len(s.imsi) == 15 for s in subscriptions)
    changed = [s for s in subscriptions if len(s.plans) > 1]
    assert abs(len(changed) / len(subscriptions) - profile.plan_change_share) < 0.03
    for s in changed:
        assert s.plans[0].valid_to == s.plans[1].valid_from and s.plans[0].plan_id != s.plans[1].plan_id
        assert profile.start_date < s.plans[1].valid_from < profile.end_date, "plan changes happen mid-period"
    terminated = [s for s in subscriptions if s.termination_date]
    assert terminated and all(s.termination_date > s.activation_date for s in terminated)
    business = {c.customer_id for c in customers if c.segment == "business"}
    assert all(s.plans[0].plan_id.startswith("business") for s in subscriptions if s.customer_id in business)


def test_imei_check_digit():
    assert luhn_complete("49015420323751") == "490154203237518"


def test_profiles_merge_and_validate():
    p = load_profile("month", {"days": 3, "anomalies": {"duplicate": 0.5}})
    assert p.subscribers == 100_000 and p.days == 3 and p.anomalies["duplicate"] == 0.5
    assert p.anomalies["late"] == 0.003, "other anomaly rates keep their defaults"
    assert p.end_date == dt.date(2026, 9, 23)
    with pytest.raises(ConfigError, match="unknown profile 'nope'"):
        load_profile("nope")
    with pytest.raises(ConfigError, match="service_mix must sum to 1"):
        load_profile("demo", {"service_mix": {"voice": 0.9}})
    with pytest.raises(ConfigError, match="unknown anomaly kinds"):
        load_profile("demo", {"anomalies": {"gremlins": 0.1}})


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["stream", "--profile", "huge"], "unknown profile 'huge'"),
        (["stream", "--days", "0"], "--days"),
        (["stream", "--anomaly", "duplicate"], "should look like NAME=VALUE"),
        (["stream", "--anomaly", "gremlins=0.1"], "unknown name 'gremlins'"),
        (["stream", "--bogus"], "No such option"),
        (["customers", "--start", "yesterday"], "--start"),
    ],
)
def test_bad_flags_get_one_clear_line(args, fragment):
    result = run_module("ingestion", *args)
    assert result.returncode in (1, 2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0] and "Traceback" not in result.stderr, result.stderr


def test_unreachable_broker_fails_within_seconds():
    import time

    started = time.monotonic()
    result = run_module("ingestion", "replay", "--format", "legacy", "../shared/fixtures/legacy_sample.jsonl",
                        env={"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}, timeout=60)  # fmt: skip
    assert result.returncode == 1
    assert time.monotonic() - started < 20
    assert result.stderr.strip().splitlines()[-1].startswith("ingestion: error: cannot reach Kafka at 127.0.0.1:1")


def test_a_one_day_period_still_builds_a_base():
    profile = load_profile("demo", {"days": 1, "late_activation_share": 0.5})
    customers, subscriptions = build_base(profile, load_reference())
    assert len(subscriptions) == 400 and customers
