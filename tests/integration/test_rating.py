"""Rating on the demo warehouse: an independent Python reading of the rules agrees with rated_usage,
every mediated event is accounted for, and tariff edits re-rate with a history of what changed."""

from __future__ import annotations

import csv
import random
import shutil
from decimal import Decimal

import pytest

from orchestration.dbt_runner import DBT_PROJECT_DIR, run_dbt
from stack.cli_support import UserError
from tests.integration.conftest import RATED_EVENTS_STORAGE, fetch, tampered
from tests.rating_reference import Crm, ReferenceRater, Tariffs

SAMPLE_EVENTS = 10_000


def fetch_dicts(pg, sql: str, params=None) -> list[dict]:
    with pg.cursor() as cur:
        cur.execute(sql, params)
        names = [c.name for c in cur.description]
        rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    pg.rollback()
    return rows


def load_crm(pg) -> Crm:
    crm = Crm(subscriptions={s["msisdn"]: s for s in fetch_dicts(pg, "select * from crm.subscriptions")})
    for period in fetch_dicts(pg, "select * from crm.subscription_plans order by valid_from"):
        crm.plan_periods.setdefault(period["subscription_id"], []).append(period)
    crm.customers = {c["customer_id"]: c for c in fetch_dicts(pg, "select * from crm.customers")}
    return crm


def test_an_independent_python_rater_agrees_to_six_decimals(demo_warehouse, pg):
    # whole subscriptions, so that every allowance pool is complete; picked at random until >= 10k events
    counts = fetch(pg, "select served_msisdn, count(*) from mediation.mediated_usage group by 1 order by 1")
    random.Random(7).shuffle(counts)
    chosen, total = [], 0
    for msisdn, n in counts:
        if total >= SAMPLE_EVENTS:
            break
        chosen.append(msisdn)
        total += n
    assert total >= SAMPLE_EVENTS, f"the demo should have at least {SAMPLE_EVENTS} events"
    events = fetch_dicts(
        pg,
        "select usage_id, service, direction, served_msisdn, other_party_msisdn, start_time, duration_s,"
        " total_bytes, serving_mcc from mediation.mediated_usage where served_msisdn = any(%s)",
        (chosen,),
    )
    expected = ReferenceRater(Tariffs.from_seeds(), load_crm(pg)).rate_all(events)

    actual = {
        str(row["usage_id"]): row
        for row in fetch_dicts(
            pg,
            "select usage_id, rating_error, subscription_id, plan_id, cycle_start, zone, matched_prefix, time_band,"
            " rate_id, rounded_quantity, allowance_drawn, chargeable_quantity, gross_amount, promotion_id,"
            " discount_amount, net_amount from rating.int_usage_events_rated where served_msisdn = any(%s)",
            (chosen,),
        )
    }
    assert actual.keys() == expected.keys()
    mismatches = []
    for usage_id, ref in expected.items():
        got = actual[usage_id]
        want = {
            "rating_error": ref.error,
            "subscription_id": ref.subscription_id,
            "plan_id": ref.plan_id,
            "zone": ref.zone,
            "time_band": ref.time_band,
            "rate_id": ref.rate_id,
            "rounded_quantity": ref.rounded_quantity,
            "allowance_drawn": ref.allowance_drawn if ref.error is None else 0,
            "chargeable_quantity": ref.chargeable_quantity,
            "gross_amount": ref.gross,
            "promotion_id": ref.promotion_id,
            "discount_amount": ref.discount,
            "net_amount": ref.net,
        }
        if ref.error is None:
            want.update(cycle_start=ref.cycle_start, matched_prefix=ref.matched_prefix)
        diff = {k: (got[k], v) for k, v in want.items() if got[k] != v}
        if diff:
            mismatches.append((usage_id, diff))
    assert not mismatches, f"{len(mismatches)} of {len(expected)} events differ, e.g. {mismatches[:3]}"
    # the sample must exercise the interesting paths, or agreement proves little
    rated = [r for r in expected.values() if r.error is None]
    assert sum(r.gross > 0 for r in rated) > 1000
    assert any(0 < r.allowance_drawn < r.rounded_quantity for r in rated), "no event split by an allowance"
    assert any(r.promotion_id for r in rated) and any(r.zone.startswith("world") for r in rated)


def test_every_mediated_event_is_rated_or_in_suspense(demo_warehouse, pg):
    rows = fetch(pg, "select sum(mediated_events), sum(rated_events), sum(rating_errors), bool_and(is_balanced)"
                     " from rating.rating_reconciliation")  # fmt: skip
    mediated, rated, errors, balanced = rows[0]
    assert mediated > 100_000 and balanced and mediated == rated + errors
    # the seeds agree with the generator's mix, so the demo rates almost everything
    assert errors / mediated < 0.001


@pytest.mark.parametrize(
    ("test_name", "where", "change"),
    [
        ("assert_rating_reconciliation_balances",
         "usage_id = (select min(usage_id::text)::uuid from rating.int_usage_events_rated)",
         "delete"),
        ("assert_rated_amounts_add_up",
         "usage_id = (select min(usage_id::text)::uuid from rating.rated_usage where gross_amount > 0)",
         "set net_amount = net_amount + 1"),
        ("assert_rated_amounts_add_up",
         "usage_id = (select min(usage_id::text)::uuid from rating.rated_usage where rate_id is not null)",
         "set allowance_drawn = allowance_drawn + 1"),
    ],
)  # fmt: skip
def test_each_rating_check_fails_on_bad_data(demo_warehouse, pg, test_name, where, change):
    run_dbt("test", "--select", test_name, capture=True)
    with tampered(pg, "rating.int_usage_events_rated", "usage_id", where, change), pytest.raises(UserError):
        run_dbt("test", "--select", test_name, capture=True)
    run_dbt("test", "--select", test_name, capture=True)


@pytest.mark.parametrize(
    ("test_name", "corrupt", "restore"),
    [
        # a second row for the same key and days as rate 1
        ("assert_rate_cards_do_not_overlap",
         "insert into reference.rate_cards select rate_id + 100000, plan_id, service, direction, zone, time_band,"
         " price, connect_fee, minimum_charge, initial_increment, subsequent_increment, valid_from, valid_to"
         " from reference.rate_cards where rate_id = 1",
         "delete from reference.rate_cards where rate_id > 100000"),
        # a prefix longer than the longest-prefix match looks at
        ("assert_destination_prefixes_fit_the_match_depth",
         "insert into reference.destinations (prefix, zone, number_kind, number_length, description)"
         " values ('3361234', 'national_mobile', 'e164', 11, 'test: too long')",
         "delete from reference.destinations where description = 'test: too long'"),
        # the best-promotion lookup expands promotions over known plans, zones, services and bands
        ("relationships_promotions_plan_id__plan_id__ref_plans_",
         "update reference.promotions set plan_id = 'no_such_plan' where promotion_id = 3",
         "update reference.promotions set plan_id = 'business_flex' where promotion_id = 3"),
        ("relationships_promotions_zone__zone__ref_zones_",
         "update reference.promotions set zone = 'no_such_zone' where promotion_id = 2",
         "update reference.promotions set zone = 'intl_z1' where promotion_id = 2"),
        ("accepted_values_promotions_service__voice__sms__data",
         "update reference.promotions set service = 'mms' where promotion_id = 1",
         "update reference.promotions set service = 'voice' where promotion_id = 1"),
        ("not_null_promotions_service",
         "update reference.promotions set service = null where promotion_id = 1",
         "update reference.promotions set service = 'voice' where promotion_id = 1"),
        ("accepted_values_promotions_time_band__peak__offpeak__weekend__any",
         "update reference.promotions set time_band = 'night' where promotion_id = 1",
         "update reference.promotions set time_band = 'weekend' where promotion_id = 1"),
        ("not_null_promotions_time_band",
         "update reference.promotions set time_band = null where promotion_id = 1",
         "update reference.promotions set time_band = 'weekend' where promotion_id = 1"),
        ("not_null_promotions_valid_from",
         "update reference.promotions set valid_from = null where promotion_id = 2",
         "update reference.promotions set valid_from = '2026-09-15' where promotion_id = 2"),
    ],
)  # fmt: skip
def test_each_reference_check_fails_on_bad_seed_rows(demo_warehouse, pg, test_name, corrupt, restore):
    run_dbt("test", "--select", test_name, capture=True)
    try:
        with pg.cursor() as cur:
            cur.execute(corrupt)
            assert cur.rowcount == 1
        pg.commit()
        with pytest.raises(UserError):
            run_dbt("test", "--select", test_name, capture=True)
    finally:
        with pg.cursor() as cur:
            cur.execute(restore)
        pg.commit()
    run_dbt("test", "--select", test_name, capture=True)


def test_a_run_without_new_events_rates_nothing_again(demo_warehouse, pg):
    run_dbt("run", "--select", "int_usage_events_rated", capture=True)
    before = fetch(pg, "select max(rated_at), count(*) from rating.int_usage_events_rated")[0]
    run_dbt("run", "--select", "int_usage_events_rated", capture=True)
    assert fetch(pg, "select max(rated_at), count(*) from rating.int_usage_events_rated")[0] == before


CHARGED_BY_RATE = (
    "select count(*), coalesce(sum(net_amount), 0), min(price) from rating.rated_usage"
    " where rate_id = %s and chargeable_quantity > 0"
)


# each event's first rating, and how many rows were rated again since
FIRST_RATINGS = (
    "select md5(string_agg(usage_id::text || first_rated_at::text, ',' order by usage_id)),"
    " count(*) filter (where rated_at > first_rated_at), count(*) from rating.int_usage_events_rated"
)


def test_a_tariff_edit_rerates_and_lists_the_changes(demo_warehouse, pg, tmp_path):
    """Edit a price in a copy of the project, `dbt build`, and see the re-rating and its history."""
    run_dbt("build", "--select", "int_usage_events_rated+", capture=True)
    first_ratings, _, events = fetch(pg, FIRST_RATINGS)[0]
    storage_before = fetch(pg, RATED_EVENTS_STORAGE)[0]
    edited = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, edited, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    rate_file = edited / "seeds" / "rate_cards.csv"
    with open(rate_file, newline="") as handle:
        rows = list(csv.DictReader(handle))
    target = next(
        r for r in rows if (r["plan_id"], r["service"], r["zone"]) == ("essential", "voice", "national_mobile")
    )
    target["price"] = str(Decimal(target["price"]) + Decimal("1"))
    with open(rate_file, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    charged_before = fetch(pg, CHARGED_BY_RATE, (int(target["rate_id"]),))[0]
    assert charged_before[0] > 0, "the demo should charge some essential national mobile calls"
    try:
        run_dbt("build", capture=True, project_dir=edited)
        after = fetch(pg, CHARGED_BY_RATE, (int(target["rate_id"]),))[0]
        assert after[0] == charged_before[0] and after[1] > charged_before[1] and after[2] == Decimal(target["price"])
        changes = fetch(
            pg,
            "select count(*), sum(net_amount_change) from rating.rerating_changes"
            " where change_reason = 'reference_change'"
            " and changed_at = (select max(changed_at) from rating.rerating_changes)",
        )[0]
        assert changes[0] > 0 and changes[1] == after[1] - charged_before[1]
        # every event was rated again, and each keeps when it was first rated
        assert fetch(pg, FIRST_RATINGS)[0] == (first_ratings, events, events)
        # by a rewrite of the table (no dead row per event), with the same indexes built again
        storage_after = fetch(pg, RATED_EVENTS_STORAGE)[0]
        assert storage_after[0] != storage_before[0] and storage_after[1] == storage_before[1]
    finally:
        run_dbt("build", capture=True)
    restored = fetch(pg, CHARGED_BY_RATE, (int(target["rate_id"]),))[0]
    assert restored == charged_before
