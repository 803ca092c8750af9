"""Volume profiles: named sets in profiles.yaml, overridden by CLI flags, validated before use."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stack.settings import ConfigError

PROFILES_FILE = Path(__file__).with_name("profiles.yaml")

ANOMALY_KINDS = (
    "duplicate",
    "conflicting_duplicate",
    "missing_field",
    "wrong_type",
    "truncated_json",
    "non_utf8",
    "negative_value",
    "absurd_value",
    "future_timestamp",
    "invalid_msisdn",
    "unknown_subscriber",
    "unknown_record_type",
    "out_of_order",
    "late",
    "partial_missing_final",
)


@dataclass(frozen=True)
class Profile:
    name: str
    values: dict[str, Any]

    def __getattr__(self, key: str) -> Any:
        values = self.__dict__.get("values")  # absent while unpickling: don't recurse
        try:
            return values[key]
        except (KeyError, TypeError):
            raise AttributeError(key) from None

    @property
    def start_date(self) -> dt.date:
        return dt.date.fromisoformat(str(self.values["start"]))

    @property
    def end_date(self) -> dt.date:
        return self.start_date + dt.timedelta(days=int(self.values["days"]))


def _deep_merge(base: dict, override: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def available_profiles(path: Path = PROFILES_FILE) -> list[str]:
    return sorted(yaml.safe_load(path.read_text())["profiles"])


def load_profile(name: str, overrides: dict[str, Any] | None = None, path: Path = PROFILES_FILE) -> Profile:
    document = yaml.safe_load(path.read_text())
    if name not in document["profiles"]:
        raise ConfigError(f"unknown profile {name!r}; choose one of: {', '.join(available_profiles(path))}")
    values = _deep_merge(document["defaults"], document["profiles"][name] or {})
    values = _deep_merge(values, {k: v for k, v in (overrides or {}).items() if v is not None})
    profile = Profile(name, values)
    validate(profile)
    return profile


def validate(profile: Profile) -> None:
    v = profile.values
    for key in ("subscribers", "days", "partitions"):
        if not isinstance(v[key], int) or v[key] < 1:
            raise ConfigError(f"profile {profile.name}: {key} must be a whole number ≥ 1, got {v[key]!r}")
    if v["rate"] < 0 or v["events_per_subscriber_day"] <= 0:
        raise ConfigError(f"profile {profile.name}: rate must be ≥ 0 and events_per_subscriber_day > 0")
    try:
        profile.start_date  # noqa: B018 - parse check
    except ValueError:
        raise ConfigError(f"profile {profile.name}: start must be a date YYYY-MM-DD, got {v['start']!r}") from None
    for mix in ("service_mix", "destination_mix", "number_forms"):
        total = sum(v[mix].values())
        if abs(total - 1.0) > 1e-6:
            raise ConfigError(f"profile {profile.name}: {mix} must sum to 1, sums to {total:.4f}")
    unknown = set(v["anomalies"]) - set(ANOMALY_KINDS)
    if unknown:
        raise ConfigError(f"profile {profile.name}: unknown anomaly kinds {sorted(unknown)}")
    for kind, rate in v["anomalies"].items():
        if not 0 <= rate <= 1:
            raise ConfigError(f"profile {profile.name}: anomaly rate {kind}={rate} must be within 0..1")
