"""The operator's reference data, read from the dbt seeds so generator and rating share one copy."""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from stack.settings import REPO_ROOT

SEEDS_DIR = REPO_ROOT / "dbt_project" / "seeds"


def read_seed(name: str, seeds_dir: Path = SEEDS_DIR) -> list[dict[str, str]]:
    with open(seeds_dir / f"{name}.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@dataclass(frozen=True)
class Operator:
    name: str
    country: str
    country_code: str
    mcc: str
    mnc: str
    timezone: str
    currency: str


@dataclass(frozen=True)
class Destination:
    prefix: str
    zone: str
    number_kind: str
    number_length: int


@dataclass(frozen=True)
class RoamingZone:
    mcc: str
    country_name: str
    zone: str
    is_rlah: bool


@dataclass(frozen=True)
class ReferenceData:
    operator: Operator
    plans: dict[str, dict[str, str]]
    destinations_by_zone: dict[str, list[Destination]]
    roaming: list[RoamingZone]


@cache
def load_reference(seeds_dir: Path = SEEDS_DIR) -> ReferenceData:
    config = read_seed("rating_config", seeds_dir)[0]
    operator = Operator(
        name=config["operator_name"],
        country=config["home_country"],
        country_code=config["home_country_code"],
        mcc=config["home_mcc"],
        mnc=config["home_mnc"],
        timezone=config["timezone"],
        currency=config["currency"],
    )
    by_zone: dict[str, list[Destination]] = defaultdict(list)
    for row in read_seed("destinations", seeds_dir):
        by_zone[row["zone"]].append(
            Destination(row["prefix"], row["zone"], row["number_kind"], int(row["number_length"]))
        )
    roaming = [
        RoamingZone(r["mcc"], r["country_name"], r["roaming_zone"], r["is_rlah"].lower() == "true")
        for r in read_seed("roaming_zones", seeds_dir)
    ]
    plans = {r["plan_id"]: r for r in read_seed("plans", seeds_dir)}
    return ReferenceData(operator, plans, dict(by_zone), roaming)
