"""Rating at scale: a full rating rebuild over N mediated events, then one incremental run over 600k more.

Runs in its own database (telecom_bench_rating). The CRM is the `month` profile's 100k subscriptions;
mediated_usage is filled in SQL with the generator's service, direction, destination and roaming mix
(mediation's own cost is measured by the mediation stage, not here). The 600k new events are the last
minute of traffic at 10k events/s: they start after everything already rated. Last, one price of
rate_cards changes and one run rates all 10.6M events again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time

import psycopg2

from bench.stages.scratch_warehouse import open_scratch_warehouse, server_settings, timed_dbt
from stack.logs import get_logger

log = get_logger(__name__)

BENCH_DB = "telecom_bench_rating"
BATCH = 50_000
PERIOD_DAYS = 31

# one mediated event per g; the mix follows ingestion/profiles.yaml (services 40/30/30, 35 % terminating,
# 4 % of traffic roaming of which 70 % in the EU, destinations mostly national)
EVENTS_SQL = f"""
insert into mediation.mediated_usage
select
    md5('bench-' || g)::uuid as usage_id,
    'bench|' || g as correlation_key,
    'native' as source_format,
    service,
    case
        when service = 'voice' then case when r_dir < 0.35 then 'MTC' else 'MOC' end
        when service = 'sms' then case when r_dir < 0.35 then 'MT' else 'MO' end
    end as direction,
    subscribers.msisdn as served_msisdn,
    case when service <> 'data' then
        case
            when r_zone < 0.62 then '336' || lpad((g * 7919 %% 100000000)::text, 8, '0')
            when r_zone < 0.84 then '331' || lpad((g * 7907 %% 100000000)::text, 8, '0')
            when r_zone < 0.88 then '32' || lpad((g * 7901 %% 1000000000)::text, 9, '0')
            when r_zone < 0.90 then '44' || lpad((g * 7883 %% 10000000000)::text, 10, '0')
            when r_zone < 0.93 then '212' || lpad((g * 7879 %% 1000000000)::text, 9, '0')
            when r_zone < 0.935 then '234' || lpad((g * 7877 %% 10000000000)::text, 10, '0')
            when r_zone < 0.945 then '3389' || lpad((g * 7873 %% 10000000)::text, 7, '0')
            else '3' || lpad((g %% 1000)::text, 3, '0')
        end
    end as other_party_msisdn,
    start_time,
    case when service = 'voice' then least(14400, floor(exp(4.317 + 1.1 * z)))::bigint end as duration_s,
    case when service = 'data' then least(28800, floor(exp(6.4 + 1.2 * z)))::bigint end as session_duration_s,
    case when service = 'data' then floor(exp(16.35 + 1.6 * z) * 0.12)::bigint end as uplink_bytes,
    case when service = 'data' then floor(exp(16.35 + 1.6 * z) * 0.88)::bigint end as downlink_bytes,
    case when service = 'data' then floor(exp(16.35 + 1.6 * z) * 0.12)::bigint
        + floor(exp(16.35 + 1.6 * z) * 0.88)::bigint end as total_bytes,
    case when service = 'sms' then 1 end as message_parts,
    '4G' as technology,
    case
        when r_roam < 0.028 then '262'
        when r_roam < 0.04 then (array['234', '310', '604', '404'])[1 + (g %% 4)]
        else '208'
    end as serving_mcc,
    '01' as serving_mnc,
    'bench' as cell_id,
    1 as part_count,
    start_time + interval '5 seconds' as first_landed_at,
    start_time + interval '5 seconds' as landed_at,
    %(first_batch)s + (g - %(first)s) / {BATCH} as last_batch_id,
    null::timestamptz as last_corrected_at,
    '[]'::jsonb as raw_lineage,
    -- a one-minute mediation micro-batch after landing, for the latency mart's arithmetic
    start_time + interval '65 seconds' as mediated_at
from (
    select
        g,
        case when random() < 0.4 then 'voice' when random() < 0.5 then 'sms' else 'data' end as service,
        random() as r_dir,
        random() as r_zone,
        random() as r_roam,
        (random() + random() + random() - 1.5) * 2 as z,
        floor(power(random(), 1.6) * %(subscribers)s)::integer as subscriber_index,
        %(start)s::timestamptz + (g - %(first)s)::float8 / %(count)s * %(span)s::interval as start_time
    from generate_series(%(first)s::bigint, %(last)s::bigint) as g
) as events
inner join bench_subscribers as subscribers on events.subscriber_index = subscribers.idx
"""


def add_events(conn, first: int, count: int, start: str, span: str, first_batch: int, subscribers: int) -> None:
    with conn.cursor() as cur:
        cur.execute(
            EVENTS_SQL,
            {"first": first, "last": first + count - 1, "count": count, "start": start, "span": span,
             "first_batch": first_batch, "subscribers": subscribers},
        )  # fmt: skip
        cur.execute("analyze mediation.mediated_usage")
    conn.commit()


def settle(conn, table: str) -> None:
    """Vacuum `table`, then write out the pages it left dirty: the state that autovacuum and the
    checkpoints leave a table in some time after it was written."""
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"vacuum (analyze) {table}")
        try:
            cur.execute("checkpoint")
        except psycopg2.errors.InsufficientPrivilege:
            log.warning("bench.no_checkpoint", reason="CHECKPOINT needs the pg_checkpoint role on this server")
    conn.autocommit = False


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--incremental", type=int, default=600_000)
    parser.add_argument("--keep", action="store_true", help="Keep the benchmark database (10M events take ~15 GB).")
    args = parser.parse_args()
    from ingestion.customers import write_crm
    from ingestion.profiles import load_profile
    from ingestion.reference import load_reference
    from stack.postgres import drop_database

    settings, conn = open_scratch_warehouse(BENCH_DB, ("mediation", "rating"))
    # one line per customer: 100k customers, the billing stages' volume
    profile = load_profile("month", {"customers_per_subscriber": 1.0})
    write_crm(conn, profile, load_reference())
    timed_dbt("seed")
    timed_dbt("run", "--select", "stg_crm__customers", "stg_crm__subscriptions", "stg_crm__subscription_plans")
    with conn.cursor() as cur:
        cur.execute(
            "create schema mediation;"
            "create table mediation.mediated_usage (usage_id uuid, correlation_key text, source_format text,"
            " service text, direction text, served_msisdn text, other_party_msisdn text, start_time timestamptz,"
            " duration_s bigint, session_duration_s bigint, uplink_bytes bigint, downlink_bytes bigint,"
            " total_bytes bigint, message_parts bigint, technology text, serving_mcc text, serving_mnc text,"
            " cell_id text, part_count bigint, first_landed_at timestamptz, landed_at timestamptz,"
            " last_batch_id bigint, last_corrected_at timestamptz, raw_lineage jsonb, mediated_at timestamptz);"
            "create temporary table bench_subscribers as"
            " select (row_number() over (order by subscription_id) - 1)::integer as idx, msisdn"
            " from crm.subscriptions;"
            "create index on bench_subscribers (idx)"
        )
        cur.execute("select count(*) from bench_subscribers")
        subscribers = cur.fetchone()[0]
    conn.commit()
    start = profile.start_date.isoformat() + " 00:00:00+00"
    add_events(conn, 1, args.events, start, f"{PERIOD_DAYS} days", 1, subscribers)
    with conn.cursor() as cur:
        # the indexes mediated_usage's own post-hooks create
        cur.execute(
            "create unique index on mediation.mediated_usage (correlation_key);"
            "create index on mediation.mediated_usage (last_batch_id);"
            "create index on mediation.mediated_usage (last_corrected_at) where last_corrected_at is not null"
        )
    conn.commit()
    # as in the mediation stage: in operation a rebuild reads events mediated long before it, vacuumed
    # and written out since. Left to chance, autovacuum's vacuum of the 10M fresh rows ran during the
    # timed rebuild (seen in the server's statistics), and checkpoints wrote out the pages it dirtied,
    # on the same two cores and disk
    settle(conn, "mediation.mediated_usage")

    rating = ("int_rating_inputs_fingerprint", "int_usage_events_classified", "int_usage_events_rated")
    full_s = timed_dbt("run", "--select", *rating, "--full-refresh")
    # the same for the 10M rows the rebuild wrote, timed on its own and reported: left to autovacuum, it
    # ran during the incremental run and the stages after it. Without it, the first run after a rebuild
    # also sets the hint bits of every page it reads (with data checksums on, a full-page WAL image each)
    started = time.perf_counter()
    settle(conn, "rating.int_usage_events_rated")
    vacuum_s = time.perf_counter() - started
    # one minute of traffic at 10k events/s, right after the rated period
    minute_start = (profile.start_date + dt.timedelta(days=PERIOD_DAYS)).isoformat() + " 00:00:00+00"
    add_events(
        conn, args.events + 1, args.incremental, minute_start, "60 seconds", args.events // BATCH + 2, subscribers
    )
    incremental_s = timed_dbt("run", "--select", "int_usage_events_rated")
    totals_s = timed_dbt("run", "--select", "rating_cycle_totals")
    snapshot_s = timed_dbt("snapshot")
    views_s = timed_dbt("run", "--select", "rated_usage", "rating_errors", "rating_reconciliation", "rerating_changes")
    tests_s = timed_dbt("test", "--select", "rating", "--exclude", "test_type:unit")
    with conn.cursor() as cur:
        cur.execute(
            "select sum(mediated_events), sum(rated_events), sum(rating_errors), bool_and(is_balanced)"
            " from rating.rating_reconciliation"
        )
        mediated, rated, errors, balanced = cur.fetchone()
        cur.execute("select sum(net_amount) from rating.rated_usage")
        net = cur.fetchone()[0]
    # a tariff edit: one price changed in the loaded seed, as `dbt seed` leaves it after an edit of
    # rate_cards.csv. The fingerprint changes, and the next run rates every event again
    with conn.cursor() as cur:
        cur.execute(
            "update reference.rate_cards set price = price + 0.01"
            " where rate_id = (select min(rate_id) from reference.rate_cards)"
        )
    conn.commit()
    tariff_edit_s = timed_dbt("run", "--select", "int_usage_events_rated")
    with conn.cursor() as cur:
        cur.execute("select count(*) filter (where rated_at > first_rated_at) from rating.int_usage_events_rated")
        rerated = cur.fetchone()[0]
    pg_settings = server_settings(conn)
    conn.close()
    if not args.keep:
        drop_database(settings.postgres, BENCH_DB)
    print(json.dumps({
        "records": args.events, "seconds": full_s, "incremental_events": args.incremental,
        "vacuum_after_rebuild_s": round(vacuum_s, 1),
        "incremental_s": round(incremental_s, 1), "cycle_totals_s": round(totals_s, 1),
        "snapshot_s": round(snapshot_s, 1), "views_s": round(views_s, 1), "data_tests_s": round(tests_s, 1),
        "mediated_events": int(mediated), "rated_events": int(rated), "rating_errors": int(errors),
        "balanced": balanced, "net_amount": str(net), "subscribers": subscribers,
        "tariff_edit_s": round(tariff_edit_s, 1), "tariff_edit_rerated_events": rerated, "postgres": pg_settings,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
