"""The synthetic usage stream: voice CDRs, SMS records and data EDRs in the native JSON format.

The stream walks the simulated period hour by hour, so memory is bounded by one hour of records
plus the records it holds back on purpose (re-sends, out-of-order and late records). Every
injected fault is reported with the message as ground truth for the mediation scorecard.
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import itertools
import math
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import orjson

from ingestion.customers import Subscription, build_base
from ingestion.profiles import Profile
from ingestion.reference import Destination, ReferenceData

SCHEMA_VERSION = "1.0"
HOUR = 3600
DAY = 86400

# Relative traffic per local hour (0..23) and weekday (Mon..Sun): quiet nights, an evening peak.
DIURNAL = [
    0.15,
    0.08,
    0.05,
    0.04,
    0.05,
    0.12,
    0.35,
    0.7,
    1.0,
    1.1,
    1.15,
    1.2,
    1.25,
    1.2,
    1.15,
    1.15,
    1.2,
    1.3,
    1.45,
    1.5,
    1.4,
    1.1,
    0.7,
    0.35,
]
WEEKLY = [1.0, 1.0, 1.0, 1.02, 1.08, 0.9, 0.78]

MSC_ELEMENTS = ("MSC-PAR-01", "MSC-LYO-02", "MSC-MRS-03")
SMSC_ELEMENTS = ("SMSC-PAR-01",)
PGW_ELEMENTS = ("PGW-PAR-01", "PGW-MRS-02")
RAT_MIX = {"NR": 0.22, "EUTRAN": 0.68, "UTRAN": 0.08, "GERAN": 0.02}
APNS = {"internet": 0.93, "ims": 0.05, "mms": 0.02}
BOGUS_RECORD_TYPES = ("mms", "video_call", "lbs", "ussd")
MANDATORY_FIELDS = {
    "voice": ("record_id", "a_number", "b_number", "start_time", "duration_s", "direction"),
    "sms": ("record_id", "a_number", "b_number", "start_time", "direction"),
    "data": ("record_id", "msisdn", "start_time", "duration_s", "uplink_bytes", "downlink_bytes"),
}
NUMERIC_FIELDS = {
    "voice": ("duration_s",),
    "sms": ("message_parts",),
    "data": ("duration_s", "downlink_bytes", "uplink_bytes"),
}


@dataclass(slots=True)
class Message:
    """One Kafka message: what is sent, plus the ground truth about it."""

    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    record_type: str
    natural_key: str
    event_time: int
    anomaly: str | None = None


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _cumulative(weights: dict[str, float]) -> tuple[list[str], list[float]]:
    return list(weights), list(itertools.accumulate(weights.values()))


class UsageStream:
    def __init__(self, profile: Profile, ref: ReferenceData, today: dt.date | None = None):
        self.profile = profile
        self.ref = ref
        self.rng = random.Random(f"activity:{profile.seed}")
        self.today = today or dt.date.today()
        self.tz = ZoneInfo(ref.operator.timezone)
        _, self.subscriptions = build_base(profile, ref)
        self.known_msisdns = {s.msisdn for s in self.subscriptions}
        weights = [self.rng.paretovariate(profile.activity_pareto_alpha) for _ in self.subscriptions]
        self.activity_cum = list(itertools.accumulate(weights))
        self.services = _cumulative(profile.service_mix)
        self.zones = _cumulative(profile.destination_mix)
        self.forms = _cumulative(profile.number_forms)
        self.rats = _cumulative(RAT_MIX)
        self.apns = _cumulative(APNS)
        kinds = {k: v for k, v in profile.anomalies.items() if k != "partial_missing_final" and v > 0}
        self.anomaly_kinds, self.anomaly_cum = _cumulative(kinds) if kinds else ([], [])
        self.element_seq: dict[str, int] = dict.fromkeys(MSC_ELEMENTS + SMSC_ELEMENTS + PGW_ELEMENTS, 0)
        self.eu = [z for z in ref.roaming if z.is_rlah]
        self.world = [z for z in ref.roaming if not z.is_rlah]
        self.held: list[tuple[float, int, Message]] = []  # (emit_time, tiebreak, message)
        self.tiebreak = itertools.count()
        self.roaming_today: dict[int, str] = {}
        self._random = self.rng.random

    def _below(self, n: int) -> int:
        """A uniform integer in [0, n): the hot-path stand-in for randrange, which is several times slower."""
        return int(self._random() * n)

    # --- expected volume ---------------------------------------------------------------------
    def expected_events(self) -> float:
        return self.profile.subscribers * self.profile.days * self.profile.events_per_subscriber_day

    # --- helpers -------------------------------------------------------------------------------
    def _choose(self, table: tuple[list[str], list[float]]) -> str:
        names, cum = table
        return names[bisect.bisect(cum, self.rng.random() * cum[-1])]

    def _pick_subscriber(self, day: dt.date) -> tuple[int, Subscription] | None:
        for _ in range(8):
            i = bisect.bisect(self.activity_cum, self.rng.random() * self.activity_cum[-1])
            sub = self.subscriptions[min(i, len(self.subscriptions) - 1)]
            if sub.active_on(day):
                return i, sub
        return None

    def _number(self, dest: Destination) -> str:
        width = dest.number_length - len(dest.prefix)
        digits = f"{dest.prefix}{self._below(10**width):0{width}d}"
        if dest.number_kind == "short":
            return digits
        form = self._choose(self.forms)
        cc = self.ref.operator.country_code
        if form == "national" and digits.startswith(cc):
            return "0" + digits[len(cc) :]
        if form == "national":
            return "00" + digits
        if form == "plus":
            return "+" + digits
        return digits

    def _other_party(self) -> str:
        zone = self._choose(self.zones)
        return self._number(self.rng.choice(self.ref.destinations_by_zone[zone]))

    def _serving(self, sub_index: int) -> tuple[str, str]:
        mcc = self.roaming_today.get(sub_index)
        if mcc:
            return mcc, f"{self.rng.randrange(1, 20):02d}"
        return self.ref.operator.mcc, self.ref.operator.mnc

    def _next_seq(self, element: str) -> int:
        self.element_seq[element] += 1
        return self.element_seq[element]

    def _plan_roaming(self, day_index: int) -> None:
        rng = random.Random(f"roaming:{self.profile.seed}:{day_index}")
        n = len(self.subscriptions)
        k = min(n, round(n * self.profile.roaming_share))
        self.roaming_today = {
            i: (rng.choice(self.eu) if rng.random() < self.profile.roaming_eu_share else rng.choice(self.world)).mcc
            for i in rng.sample(range(n), k)
        }

    # --- record builders ------------------------------------------------------------------------
    def _segments(self, start: int, duration: int, interval: int) -> list[tuple[int, int]]:
        if duration <= interval:
            return [(start, duration)]
        cuts = list(range(0, duration, interval))
        return [(start + c, min(interval, duration - c)) for c in cuts]

    def _voice(self, sub_index: int, sub: Subscription, t: int) -> list[dict]:
        p = self.profile
        mt = self.rng.random() < p.mt_share
        mcc, mnc = self._serving(sub_index)
        element = MSC_ELEMENTS[sub_index % len(MSC_ELEMENTS)]
        vd = p.voice_duration
        duration = min(int(self.rng.lognormvariate(math.log(vd["median_s"]), vd["sigma"])), vd["max_s"])
        other = self._other_party()
        record_id = f"{self.rng.getrandbits(64):016x}"
        cell = f"{mcc}-{mnc}-{1 + self._below(899)}-{1 + self._below(65534)}"
        segments = self._segments(t, duration, p.partial_interval_s["voice"])
        records = []
        for seq, (seg_start, seg_len) in enumerate(segments, start=1):
            final = seq == len(segments)
            records.append(
                {
                    "schema_version": SCHEMA_VERSION,
                    "record_type": "voice",
                    "network_element": element,
                    "element_seq": self._next_seq(element),
                    "record_id": record_id,
                    "sequence": seq,
                    "is_final": final,
                    "direction": "MTC" if mt else "MOC",
                    "a_number": other if mt else sub.msisdn,
                    "b_number": sub.msisdn if mt else other,
                    "served_imsi": sub.imsi,
                    "served_imei": sub.imei,
                    "start_time": iso(seg_start),
                    "duration_s": seg_len,
                    "cell_id": cell,
                    "serving_mcc": mcc,
                    "serving_mnc": mnc,
                    "termination_cause": "normal_release" if final else "partial_record",
                }
            )
        return records

    def _sms(self, sub_index: int, sub: Subscription, t: int) -> list[dict]:
        mt = self.rng.random() < self.profile.mt_share
        mcc, mnc = self._serving(sub_index)
        element = SMSC_ELEMENTS[0]
        other = self._other_party()
        return [
            {
                "schema_version": SCHEMA_VERSION,
                "record_type": "sms",
                "network_element": element,
                "element_seq": self._next_seq(element),
                "record_id": f"{self.rng.getrandbits(64):016x}",
                "sequence": 1,
                "is_final": True,
                "direction": "MT" if mt else "MO",
                "a_number": other if mt else sub.msisdn,
                "b_number": sub.msisdn if mt else other,
                "served_imsi": sub.imsi,
                "start_time": iso(t),
                "message_parts": 1 if self._random() < 0.92 else 2 + self._below(3),
                "cell_id": f"{mcc}-{mnc}-{1 + self._below(899)}-{1 + self._below(65534)}",
                "serving_mcc": mcc,
                "serving_mnc": mnc,
            }
        ]

    def _data(self, sub_index: int, sub: Subscription, t: int) -> list[dict]:
        p = self.profile
        ds = p.data_session
        mcc, mnc = self._serving(sub_index)
        element = PGW_ELEMENTS[sub_index % len(PGW_ELEMENTS)]
        duration = max(1, min(int(self.rng.lognormvariate(math.log(ds["median_s"]), ds["sigma"])), ds["max_s"]))
        total_bytes = int(self.rng.lognormvariate(math.log(ds["median_mb"] * 1_048_576), ds["volume_sigma"]))
        rat = self._choose(self.rats)
        apn = self._choose(self.apns)
        session_id = f"{self.rng.getrandbits(64):016x}"
        cell = f"{mcc}-{mnc}-{1 + self._below(899)}-{1 + self._below(65534)}"
        segments = self._segments(t, duration, p.partial_interval_s["data"])
        records = []
        for seq, (seg_start, seg_len) in enumerate(segments, start=1):
            volume = total_bytes * seg_len // duration
            uplink = int(volume * ds["uplink_share"])
            final = seq == len(segments)
            records.append(
                {
                    "schema_version": SCHEMA_VERSION,
                    "record_type": "data",
                    "network_element": element,
                    "element_seq": self._next_seq(element),
                    "record_id": session_id,
                    "sequence": seq,
                    "is_final": final,
                    "msisdn": sub.msisdn,
                    "imsi": sub.imsi,
                    "imei": sub.imei,
                    "apn": apn,
                    "rat": rat,
                    "start_time": iso(seg_start),
                    "duration_s": seg_len,
                    "uplink_bytes": uplink,
                    "downlink_bytes": volume - uplink,
                    "cell_id": cell,
                    "serving_mcc": mcc,
                    "serving_mnc": mnc,
                    "closing_cause": "normal_release" if final else "time_limit",
                }
            )
        return records

    # --- anomalies ---------------------------------------------------------------------------
    def _served_field(self, record: dict) -> str:
        if record["record_type"] == "data":
            return "msisdn"
        return "b_number" if record["direction"] in ("MTC", "MT") else "a_number"

    def _unknown_msisdn(self) -> str:
        cc = self.ref.operator.country_code
        while True:
            candidate = f"{cc}6{self.rng.randrange(10**8):08d}"
            if candidate not in self.known_msisdns:
                return candidate

    def _corrupt(self, kind: str, record: dict) -> dict | bytes:
        """Apply a content anomaly; returns the changed record, or raw bytes for encoding faults."""
        rtype = record["record_type"]
        rng = self.rng
        if kind == "missing_field":
            field = rng.choice(MANDATORY_FIELDS[rtype])
            record = dict(record)
            if rng.random() < 0.5:
                del record[field]
            else:
                record[field] = None
        elif kind == "wrong_type":
            field = rng.choice(NUMERIC_FIELDS[rtype])
            record = record | {field: rng.choice(["abc", "12,5", "", "1e3x"])}
        elif kind == "negative_value":
            field = rng.choice(NUMERIC_FIELDS[rtype])
            record = record | {field: -max(1, int(record[field]) or 1)}
        elif kind == "absurd_value":
            if rtype == "voice":
                record = record | {"duration_s": 30 * HOUR + rng.randrange(HOUR)}
            elif rtype == "data":
                record = record | {"downlink_bytes": 500 * 1024**3 + rng.randrange(1024**3)}
            else:
                record = record | {"message_parts": 100_000}
        elif kind == "future_timestamp":
            future = dt.datetime.combine(max(self.profile.end_date, self.today), dt.time(), dt.UTC)
            shifted = future + dt.timedelta(days=rng.randrange(2, 60), seconds=rng.randrange(DAY))
            record = record | {"start_time": shifted.strftime("%Y-%m-%dT%H:%M:%SZ")}
        elif kind == "invalid_msisdn":
            field = self._served_field(record)
            bad = rng.choice([record[field][:5] + "AB" + record[field][7:], record[field] + "123456789", "33-6", "+"])
            record = record | {field: bad}
        elif kind == "unknown_subscriber":
            record = record | {self._served_field(record): self._unknown_msisdn()}
        elif kind == "unknown_record_type":
            record = record | {"record_type": rng.choice(BOGUS_RECORD_TYPES)}
        elif kind == "truncated_json":
            raw = orjson.dumps(record)
            return raw[: rng.randrange(5, len(raw) - 2)]
        elif kind == "non_utf8":
            raw = orjson.dumps(record)
            cut = raw.index(b'"cell_id":"') + 11
            return raw[:cut] + rng.choice([b"\xff\xfe", b"\xc3\x28", b"\xe9t\xe9"]) + raw[cut:]
        return record

    def _message(self, record: dict, body: dict | bytes | None = None, anomaly: str | None = None) -> Message:
        payload = record if body is None else body
        value = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        served = record.get(self._served_field(record)) if record["record_type"] in MANDATORY_FIELDS else None
        if isinstance(payload, dict):
            served = payload.get(self._served_field(record)) or served
            record_type = str(payload.get("record_type", record["record_type"]))
        else:
            record_type = record["record_type"]
        natural_key = f"{record['network_element']}|{record['record_id']}|{record['sequence']}"
        return Message(
            key=str(served or "").encode(),
            value=value,
            headers=[
                ("record_type", record_type.encode()),
                ("schema_version", SCHEMA_VERSION.encode()),
                ("source", record["network_element"].encode()),
            ],
            record_type=record["record_type"],
            natural_key=natural_key,
            event_time=0,
            anomaly=anomaly,
        )

    def _hold(self, emit_at: float, message: Message) -> None:
        heapq.heappush(self.held, (emit_at, next(self.tiebreak), message))

    def _release(self, until: float) -> Iterator[Message]:
        while self.held and self.held[0][0] <= until:
            yield heapq.heappop(self.held)[2]

    def _emit(self, records: list[dict], t: int) -> Iterator[Message]:
        """Turn one event's records into messages, injecting at most one anomaly per message."""
        rng = self.rng
        if len(records) > 1:  # a partial chain
            anomaly = None
            if rng.random() < self.profile.anomalies.get("partial_missing_final", 0):
                records, anomaly = records[:-1], "partial_missing_final"
            for r in records:
                yield self._message(r, anomaly=anomaly)
            return
        record = records[0]
        kind = None
        if self.anomaly_cum:
            draw = rng.random()
            if draw < self.anomaly_cum[-1]:
                kind = self.anomaly_kinds[bisect.bisect(self.anomaly_cum, draw)]
        if kind is None:
            yield self._message(record)
        elif kind == "duplicate":
            original = self._message(record)
            yield original
            copy = Message(
                original.key,
                original.value,
                original.headers,
                original.record_type,
                original.natural_key,
                0,
                "duplicate",
            )
            self._hold(t + rng.randrange(1, 1800), copy)
        elif kind == "conflicting_duplicate":
            yield self._message(record)
            field = NUMERIC_FIELDS[record["record_type"]][0]
            changed = record | {field: int(record[field]) + rng.randrange(1, 120)}
            self._hold(t + rng.randrange(1, 1800), self._message(changed, anomaly="conflicting_duplicate"))
        elif kind == "out_of_order":
            self._hold(t + rng.randrange(300, 3 * HOUR), self._message(record, anomaly="out_of_order"))
        elif kind == "late":
            delay = rng.randrange(HOUR, DAY) if rng.random() < 0.5 else rng.randrange(DAY, 5 * DAY)
            self._hold(t + delay, self._message(record, anomaly="late"))
        else:
            yield self._message(record, self._corrupt(kind, record), anomaly=kind)

    # --- the stream ----------------------------------------------------------------------------
    def _start_day(self, day_index: int) -> None:
        """Each simulated day has its own random stream, so days can be generated by parallel workers
        and the records are the same whatever the number of workers."""
        self.rng = random.Random(f"stream:{self.profile.seed}:{day_index}")
        self._random = self.rng.random
        # element sequence numbers stay monotonic per element: day index in the high digits
        self.element_seq = dict.fromkeys(self.element_seq, day_index * 10_000_000)
        self._plan_roaming(day_index)

    def day_indexes(self, worker: int = 0, workers: int = 1) -> range:
        return range(worker, self.profile.days, workers)

    def messages(self, days: range | None = None) -> Iterator[Message]:
        """The stream for the given simulated days (all of them by default), in emission order."""
        p = self.profile
        start = int(dt.datetime.combine(p.start_date, dt.time(), dt.UTC).timestamp())
        per_day = p.subscribers * p.events_per_subscriber_day
        mean_weight = sum(DIURNAL) / 24 * sum(WEEKLY) / 7
        builders = {"voice": self._voice, "sms": self._sms, "data": self._data}
        for day_index in days if days is not None else self.day_indexes():
            self._start_day(day_index)
            for hour in range(day_index * 24, day_index * 24 + 24):
                hour_start = start + hour * HOUR
                local = dt.datetime.fromtimestamp(hour_start, self.tz)
                expected = per_day / 24 * DIURNAL[local.hour] * WEEKLY[local.weekday()] / mean_weight
                count = max(0, round(self.rng.gauss(expected, math.sqrt(expected))))
                day = local.date()
                times = sorted(hour_start + self._below(HOUR) for _ in range(count))
                for t in times:
                    yield from self._release(t)
                    picked = self._pick_subscriber(day)
                    if picked is None:
                        continue
                    index, sub = picked
                    service = "data" if sub.is_data_only else self._choose(self.services)
                    for message in self._emit(builders[service](index, sub, t), t):
                        message.event_time = t
                        yield message
        yield from self._release(float("inf"))
