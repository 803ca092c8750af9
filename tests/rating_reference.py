"""A plain-Python reading of the rating rules in docs/rating.md, written apart from the SQL.

It reads the seed CSVs directly and rates whole (subscription, cycle) histories, so a test can
compare it with `rated_usage` event by event. Nothing here imports or mirrors the dbt models.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

SEEDS = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds"
MICRO = Decimal("0.000001")
MB = 1_048_576


def _read(name: str) -> list[dict[str, str]]:
    with open(SEEDS / f"{name}.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _round6(value: Decimal) -> Decimal:
    # ROUND_HALF_UP is "half away from zero" in the decimal module, like PostgreSQL's round(numeric)
    return value.quantize(MICRO, rounding=ROUND_HALF_UP)


@dataclass
class Tariffs:
    """The reference data, straight from the seed files."""

    config: dict[str, str]
    plans: dict[str, dict[str, str]]
    destinations: list[dict[str, str]]
    roaming: dict[str, dict[str, str]]
    holidays: set[dt.date]
    rates: list[dict[str, str]]
    promotions: list[dict[str, str]]
    zones: dict[str, dict[str, str]]

    @classmethod
    def from_seeds(cls) -> Tariffs:
        return cls(
            config=_read("rating_config")[0],
            plans={p["plan_id"]: p for p in _read("plans")},
            destinations=_read("destinations"),
            roaming={r["mcc"]: r for r in _read("roaming_zones")},
            holidays={_date(h["holiday_date"]) for h in _read("holidays")},
            rates=_read("rate_cards"),
            promotions=_read("promotions"),
            zones={z["zone"]: z for z in _read("zones")},
        )


@dataclass
class Crm:
    subscriptions: dict[str, dict]  # by msisdn
    plan_periods: dict[str, list[dict]] = field(default_factory=dict)  # by subscription_id
    customers: dict[str, dict] = field(default_factory=dict)


@dataclass
class Rated:
    usage_id: str
    error: str | None = None
    subscription_id: str | None = None
    plan_id: str | None = None
    cycle_start: dt.date | None = None
    zone: str | None = None
    matched_prefix: str | None = None
    time_band: str | None = None
    rate_id: int | None = None
    rounded_quantity: int = 0
    allowance_drawn: int = 0
    chargeable_quantity: int = 0
    gross: Decimal = Decimal(0)
    promotion_id: int | None = None
    discount: Decimal = Decimal(0)
    net: Decimal = Decimal(0)
    # working fields for the allowance draw
    start: dt.datetime | None = None
    pool: tuple | None = None
    pool_allowance: int | None = None
    draws: bool = False
    rate: dict | None = None
    promotion: dict | None = None


def _add_month(day: dt.date) -> dt.date:
    return day.replace(year=day.year + day.month // 12, month=day.month % 12 + 1)


def _valid(row: dict[str, str], day: dt.date) -> bool:
    return _date(row["valid_from"]) <= day and (not row["valid_to"] or day < _date(row["valid_to"]))


class ReferenceRater:
    def __init__(self, tariffs: Tariffs, crm: Crm):
        self.t = tariffs
        self.crm = crm
        self.tz = ZoneInfo(tariffs.config["timezone"])

    def _zone(self, event: dict, roaming: bool) -> tuple[str | None, str | None]:
        visited = self.t.roaming.get(event["serving_mcc"])
        if roaming and not (visited and visited["is_rlah"] == "true"):
            return (visited["roaming_zone"] if visited else None), None
        if event["service"] == "data":
            return "national", None
        number = event["other_party_msisdn"] or ""
        kind = "short" if len(number) <= 6 else "e164"
        matches = [d for d in self.t.destinations if d["number_kind"] == kind and number.startswith(d["prefix"])]
        if not matches:
            return None, None
        best = max(matches, key=lambda d: len(d["prefix"]))
        return best["zone"], best["prefix"]

    def _band(self, local: dt.datetime) -> str:
        if local.isoweekday() >= 6 or local.date() in self.t.holidays:
            return "weekend"
        return "peak" if dt.time(8) <= local.time() < dt.time(20) else "offpeak"

    def classify(self, event: dict) -> Rated:
        r = Rated(usage_id=str(event["usage_id"]), start=event["start_time"])
        local = event["start_time"].astimezone(self.tz)
        day = local.date()
        service = event["service"]
        direction = "mo" if service == "data" or event["direction"] in ("MOC", "MO") else "mt"
        quantity = {"voice": event["duration_s"], "sms": 1, "data": event["total_bytes"]}[service]

        sub = self.crm.subscriptions.get(event["served_msisdn"])
        if sub and not (
            sub["activation_date"] <= day and (sub["termination_date"] is None or day < sub["termination_date"])
        ):
            sub = None
        period = None
        if sub:
            period = next(
                (
                    p
                    for p in self.crm.plan_periods.get(sub["subscription_id"], [])
                    if p["valid_from"] <= day and (p["valid_to"] is None or day < p["valid_to"])
                ),
                None,
            )
        roaming = event["serving_mcc"] is not None and event["serving_mcc"] != self.t.config["home_mcc"]
        r.zone, r.matched_prefix = self._zone(event, roaming)
        r.time_band = self._band(local)
        if not sub or not period:
            r.error = "NO_SUBSCRIPTION"
            return r
        r.subscription_id, r.plan_id = sub["subscription_id"], period["plan_id"]
        customer = self.crm.customers[sub["customer_id"]]
        bill_day = customer["bill_cycle_day"]
        this_month = day.replace(day=bill_day)
        r.cycle_start = (
            this_month if day.day >= bill_day else (this_month - dt.timedelta(days=28)).replace(day=bill_day)
        )
        if r.zone is None:
            r.error = "NO_DESTINATION"
            return r

        candidates = [
            row
            for row in self.t.rates
            if (row["plan_id"], row["service"], row["direction"], row["zone"])
            == (r.plan_id, service, direction, r.zone)
            and _valid(row, day)
        ]
        rate = next((c for c in candidates if c["time_band"] == r.time_band), None) or next(
            (c for c in candidates if c["time_band"] == "any"), None
        )
        if rate is None:
            if direction == "mo":
                r.error = "NO_RATE"
            r.rounded_quantity = max(quantity, 0)  # zero-rated terminating usage keeps its quantity
            return r
        r.rate, r.rate_id = rate, int(rate["rate_id"])
        i, s = int(rate["initial_increment"]), int(rate["subsequent_increment"])
        if quantity <= 0:
            r.rounded_quantity = 0
        elif quantity <= i:
            r.rounded_quantity = i
        else:
            blocks = -(-(quantity - i) // s)  # ceiling division
            r.rounded_quantity = i + blocks * s

        cycle_end = _add_month(r.cycle_start)
        period_start = max(period["valid_from"], r.cycle_start)
        period_end = min(period["valid_to"] or dt.date.max, cycle_end)
        plan = self.t.plans[r.plan_id]
        allowance_text = {"voice": "voice_allowance_min", "sms": "sms_allowance", "data": "data_allowance_mb"}[service]
        scale = {"voice": 60, "sms": 1, "data": MB}[service]
        if plan[allowance_text] != "":
            full = int(plan[allowance_text]) * scale
            r.pool_allowance = full * (period_end - period_start).days // (cycle_end - r.cycle_start).days
        r.pool = (r.subscription_id, r.cycle_start, period_start, service)
        r.draws = self.t.zones[r.zone]["draws_allowance"] == "true" and direction == "mo"

        matching = [
            p
            for p in self.t.promotions
            if p["service"] == service
            and (not p["plan_id"] or p["plan_id"] == r.plan_id)
            and (not p["segment"] or p["segment"] == customer["segment"])
            and (not p["zone"] or p["zone"] == r.zone)
            and p["time_band"] in ("any", r.time_band)
            and _valid(p, day)
        ]
        if matching:
            r.promotion = min(matching, key=lambda p: (-Decimal(p["discount_pct"]), int(p["promotion_id"])))
        return r

    def rate_all(self, events: list[dict]) -> dict[str, Rated]:
        """Rate a set of events that holds every event of each (subscription, cycle) it touches."""
        rated = [self.classify(e) for e in events]
        pools: dict[tuple, list[Rated]] = defaultdict(list)
        for r in rated:
            if r.error is None and r.rate is not None:
                pools[r.pool].append(r)
        for members in pools.values():
            used = 0
            for r in sorted(members, key=lambda m: (m.start, m.usage_id)):
                if r.draws:
                    if r.pool_allowance is None:
                        r.allowance_drawn = r.rounded_quantity
                    else:
                        r.allowance_drawn = max(0, min(r.rounded_quantity, r.pool_allowance - used))
                    used += r.rounded_quantity
                r.chargeable_quantity = r.rounded_quantity - r.allowance_drawn
                self._charge(r)
        return {r.usage_id: r for r in rated}

    def _charge(self, r: Rated) -> None:
        if r.chargeable_quantity == 0:
            return
        unit = {"voice": 60, "sms": 1, "data": MB}[r.pool[3]]
        gross = Decimal(r.rate["connect_fee"]) + Decimal(r.chargeable_quantity) / unit * Decimal(r.rate["price"])
        r.gross = max(_round6(gross), Decimal(r.rate["minimum_charge"]))
        if r.gross > 0 and r.promotion:
            r.promotion_id = int(r.promotion["promotion_id"])
            r.discount = _round6(r.gross * Decimal(r.promotion["discount_pct"]) / 100)
        r.net = r.gross - r.discount
