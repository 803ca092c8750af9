"""The synthetic stream, offline: distributions, determinism, anomalies and partial chains."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import statistics
from collections import Counter, defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

import jsonschema
import pytest

from ingestion.customers import build_base
from ingestion.generator import MANDATORY_FIELDS, UsageStream
from ingestion.profiles import ANOMALY_KINDS, load_profile
from ingestion.reference import load_reference

TODAY = dt.date(2026, 11, 22)
VALIDATORS = {
    t: jsonschema.Draft202012Validator(json.loads((Path("ingestion/schemas") / f"{t}.v1.schema.json").read_text()))
    for t in ("voice", "sms", "data")
}
VALID_KINDS = (None, "duplicate", "out_of_order", "late", "partial_missing_final")


def stream(**overrides):
    profile = load_profile("demo", {"days": 7, **overrides})
    return profile, list(UsageStream(profile, load_reference(), today=TODAY).messages())


@pytest.fixture(scope="module")
def week():
    return stream()


@pytest.fixture(scope="module")
def faulty_week():
    """Every anomaly kind at a rate high enough to measure."""
    rates = dict.fromkeys(ANOMALY_KINDS, 0.01) | {"partial_missing_final": 0.5}
    return stream(anomalies=rates, subscribers=800)


def parsed(messages):
    return [json.loads(m.value) for m in messages if m.anomaly in VALID_KINDS]


def test_same_seed_same_stream_other_seed_other_stream():
    _, first = stream(days=2)
    _, again = stream(days=2)
    _, other = stream(days=2, seed=43)
    assert [m.value for m in first] == [m.value for m in again]
    assert [m.key for m in first] == [m.key for m in again]
    assert [m.value for m in first][:100] != [m.value for m in other][:100]


def test_sharding_by_day_does_not_change_the_records():
    profile = load_profile("demo", {"days": 4})
    whole = UsageStream(profile, load_reference(), today=TODAY)
    everything = sorted(m.value for m in whole.messages())
    shards = []
    for worker in range(3):
        s = UsageStream(profile, load_reference(), today=TODAY)
        shards += [m.value for m in s.messages(s.day_indexes(worker, 3))]
    assert sorted(shards) == everything


def test_volume_and_service_mix_follow_the_profile(week):
    profile, messages = week
    records = [r for r in parsed(messages) if r["sequence"] == 1]
    assert abs(len(records) - profile.subscribers * 7 * profile.events_per_subscriber_day) / len(records) < 0.05
    mix = Counter(r["record_type"] for r in records)
    data_only = sum(1 for s in build_base(profile, load_reference())[1] if s.is_data_only) / profile.subscribers
    # data-only SIMs make only data, so the data share rises above the profile's by about their weight
    expected = {k: v * (1 - data_only) for k, v in profile.service_mix.items()}
    expected["data"] += data_only
    for service, share in expected.items():
        assert abs(mix[service] / len(records) - share) < 0.03, (service, mix[service] / len(records), share)


def test_durations_are_log_normal_around_the_profile_median(week):
    profile, messages = week
    calls = [
        r["duration_s"]
        for r in parsed(messages)
        if r["record_type"] == "voice" and r["is_final"] and r["sequence"] == 1
    ]
    median = statistics.median(calls)
    assert 0.85 * profile.voice_duration["median_s"] < median < 1.15 * profile.voice_duration["median_s"]
    assert statistics.mean(calls) > 1.3 * median, "log-normal: the mean sits well above the median"


def test_traffic_follows_the_diurnal_profile_and_is_heavy_tailed(week):
    _, messages = week
    paris = ZoneInfo("Europe/Paris")
    by_hour = Counter(dt.datetime.fromtimestamp(m.event_time, paris).hour for m in messages)
    assert by_hour[19] > 5 * by_hour[4], "evening peak versus the night"
    per_subscriber = Counter(m.key for m in messages)
    top_decile = sum(sorted(per_subscriber.values(), reverse=True)[: len(per_subscriber) // 10])
    assert top_decile / sum(per_subscriber.values()) > 0.3, "the busiest 10% make a large share of traffic"


def test_destinations_and_roaming_come_from_the_seeds(week):
    _, messages = week
    ref = load_reference()
    roaming_mccs = {z.mcc for z in ref.roaming}
    serving = Counter(r["serving_mcc"] for r in parsed(messages))
    assert set(serving) <= roaming_mccs | {ref.operator.mcc}
    roaming_share = 1 - serving[ref.operator.mcc] / sum(serving.values())
    assert 0.01 < roaming_share < 0.08
    prefixes = [d.prefix for ds in ref.destinations_by_zone.values() for d in ds]
    for r in parsed(messages):
        if r["record_type"] == "voice" and r["direction"] == "MOC":
            number = r["b_number"].lstrip("+")
            number = "33" + number[1:] if re.match(r"^0[1-9]", number) else number.removeprefix("00")
            assert any(number.startswith(p) for p in prefixes), r["b_number"]


def test_clean_records_match_their_json_schema(week):
    _, messages = week
    for r in parsed(messages):
        VALIDATORS[r["record_type"]].validate(r)


def test_schema_rejects_faulty_records(faulty_week):
    _, messages = faulty_week
    for m in messages:
        if m.anomaly in ("missing_field", "wrong_type", "negative_value", "invalid_msisdn"):
            record = json.loads(m.value)
            assert not VALIDATORS[m.record_type].is_valid(record), (m.anomaly, record)


def test_every_anomaly_kind_appears_at_its_rate(faulty_week):
    profile, messages = faulty_week
    kinds = Counter(m.anomaly for m in messages)
    single_records = sum(1 for m in messages if m.anomaly != "partial_missing_final") - kinds["duplicate"]
    single_records -= kinds["conflicting_duplicate"]
    for kind in ANOMALY_KINDS:
        assert kinds[kind] > 0, f"{kind} never injected"
        if kind == "partial_missing_final":
            continue
        rate = kinds[kind] / single_records
        assert 0.6 * profile.anomalies[kind] < rate < 1.4 * profile.anomalies[kind], (kind, rate)


def test_each_injected_anomaly_really_is_that_fault(faulty_week):
    profile, messages = faulty_week
    ref = load_reference()
    known = {s.msisdn for s in build_base(profile, ref)[1]}
    first_seen: dict[str, bytes] = {}
    for m in messages:
        kind = m.anomaly
        if kind in (None, "out_of_order", "late", "partial_missing_final"):
            first_seen.setdefault(m.natural_key, m.value)
            if kind is None:
                continue
        if kind == "truncated_json":
            with pytest.raises(ValueError):
                json.loads(m.value)
            continue
        if kind == "non_utf8":
            with pytest.raises(UnicodeDecodeError):
                m.value.decode("utf-8")
            continue
        if kind in ("duplicate", "conflicting_duplicate"):
            assert m.natural_key in first_seen, "a re-send follows its original"
            assert (m.value == first_seen[m.natural_key]) == (kind == "duplicate")
            continue
        record = json.loads(m.value)
        served_field = (
            "msisdn"
            if m.record_type == "data"
            else ("a_number" if record.get("direction") in ("MOC", "MO") else "b_number")
        )
        if kind == "missing_field":
            assert any(record.get(f) is None for f in MANDATORY_FIELDS[m.record_type])
        elif kind == "wrong_type":
            assert any(
                isinstance(record.get(f), str)
                for f in ("duration_s", "uplink_bytes", "downlink_bytes", "message_parts")
            )
        elif kind == "negative_value":
            assert any(isinstance(v, int) and v < 0 for v in record.values() if not isinstance(v, bool))
        elif kind == "absurd_value":
            assert (
                record.get("duration_s", 0) > 86400
                or record.get("downlink_bytes", 0) > 100 * 1024**3
                or record.get("message_parts", 0) > 1000
            )
        elif kind == "future_timestamp":
            assert record["start_time"] > f"{TODAY.isoformat()}T"
        elif kind == "invalid_msisdn":
            assert not re.fullmatch(r"\d{1,15}", record[served_field])
        elif kind == "unknown_subscriber":
            assert re.fullmatch(r"\d{11}", record[served_field]) and record[served_field] not in known
        elif kind == "unknown_record_type":
            assert record["record_type"] not in ("voice", "sms", "data")
        elif kind == "late":
            pass  # checked for order below


def test_late_and_out_of_order_records_arrive_after_later_events(faulty_week):
    _, messages = faulty_week
    latest_event = 0
    lags = {"late": [], "out_of_order": []}
    for m in messages:
        if m.anomaly in lags:
            lags[m.anomaly].append(latest_event - m.event_time)
        latest_event = max(latest_event, m.event_time)
    assert min(lags["out_of_order"]) > 0
    assert max(lags["late"]) > 86400, "some records are days late"
    assert sum(1 for lag in lags["late"] if lag > 3600) / len(lags["late"]) > 0.9


def test_partial_records_chain_correctly(faulty_week):
    _, messages = faulty_week
    chains = defaultdict(list)
    for m in messages:
        if m.anomaly in (None, "partial_missing_final", "out_of_order", "late"):
            record = json.loads(m.value)
            chains[(record["network_element"], record["record_id"])].append((record, m.anomaly))
    partial_chains = {k: v for k, v in chains.items() if len(v) > 1 or not v[0][0]["is_final"]}
    assert partial_chains, "long calls and sessions should be cut into partials"
    for chain in partial_chains.values():
        parts = sorted((record for record, _ in chain), key=lambda r: r["sequence"])
        anomalies = {anomaly for _, anomaly in chain}
        assert [r["sequence"] for r in parts] == list(range(1, len(parts) + 1))
        for before, after in itertools.pairwise(parts):
            end = dt.datetime.fromisoformat(before["start_time"]) + dt.timedelta(seconds=before["duration_s"])
            assert end == dt.datetime.fromisoformat(after["start_time"])
            assert not before["is_final"]
        assert parts[-1]["is_final"] == ("partial_missing_final" not in anomalies)
