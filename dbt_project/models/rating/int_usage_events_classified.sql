-- grain: one row per mediated usage event, with every rating decision that does not depend on other
-- events (docs/rating.md rules 1–5 and 8): who pays, bill cycle and plan period, zone, time band,
-- rate row, rounded quantity and the best matching promotion. The allowance draw needs the order of
-- a subscription's events and happens in int_usage_events_rated.
--
-- Fences: events, cycled and zoned each read their input through a WITH of their own. The planner
-- flattens a plain subquery into the joins above it, and each derived column (the local time above
-- all) would be evaluated again in every join and column that uses it, more than a dozen times per
-- event. It never flattens a subquery that has a WITH, so each is computed once per event. Unlike a
-- lateral subquery with a limit, such a subquery runs in the parallel workers and still lets the
-- incremental run's filter on mediated_usage reach its indexes. Every CTE is parallel-safe for the
-- same reason: no limit, no window function and no CTE read twice.
{% set prefix_depth = var('max_destination_prefix_length') | int(6) %}
with

config as not materialized (
    select * from {{ ref('rating_config') }}
),

events as (
    with usage as (
        select * from {{ ref('mediated_usage') }}
    )

    select
        usage.usage_id,
        usage.service,
        usage.served_msisdn,
        usage.other_party_msisdn,
        usage.start_time,
        usage.serving_mcc,
        usage.last_batch_id as mediated_batch_id,
        usage.last_corrected_at as mediated_corrected_at,
        -- data sessions are always charged to the served subscriber, like originating usage
        case
            when usage.service = 'data' or usage.direction in ('MOC', 'MO') then 'mo'
            when usage.direction in ('MTC', 'MT') then 'mt'
        end as direction,
        case usage.service
            when 'voice' then usage.duration_s
            when 'sms' then 1
            when 'data' then usage.total_bytes
        end as quantity,
        (usage.start_time at time zone config.timezone) as local_start,
        (usage.start_time at time zone config.timezone)::date as local_date,
        coalesce(usage.serving_mcc <> config.home_mcc, false) as is_roaming,
        -- national short codes and E.164 numbers are separate number plans (destinations.number_kind)
        case when length(usage.other_party_msisdn) <= 6 then 'short' else 'e164' end as number_kind
    from usage
    cross join config
),

-- as-of lookup at the event's local start date: plan changes mid-cycle are honoured
subscribed as (
    select
        events.*,
        subscriptions.subscription_id,
        subscriptions.customer_id,
        customers.segment,
        customers.bill_cycle_day,
        plan_periods.plan_id,
        plan_periods.valid_from as plan_valid_from,
        plan_periods.valid_to as plan_valid_to
    from events
    left join {{ ref('stg_crm__subscriptions') }} as subscriptions
        on
            events.served_msisdn = subscriptions.msisdn
            and events.local_date >= subscriptions.activation_date
            and (subscriptions.termination_date is null or events.local_date < subscriptions.termination_date)
    left join {{ ref('stg_crm__subscription_plans') }} as plan_periods
        on
            subscriptions.subscription_id = plan_periods.subscription_id
            and events.local_date >= plan_periods.valid_from
            and (plan_periods.valid_to is null or events.local_date < plan_periods.valid_to)
    left join {{ ref('stg_crm__customers') }} as customers
        on subscriptions.customer_id = customers.customer_id
),

-- a cycle runs [bill-cycle day of month M, same day of month M+1) in local dates
cycled as (
    with subscribed_events as (
        select * from subscribed
    )

    select
        subscribed_events.*,
        case
            when extract(day from subscribed_events.local_date) >= subscribed_events.bill_cycle_day
                then make_date(
                    extract(year from subscribed_events.local_date)::integer,
                    extract(month from subscribed_events.local_date)::integer,
                    subscribed_events.bill_cycle_day
                )
            else (
                make_date(
                    extract(year from subscribed_events.local_date)::integer,
                    extract(month from subscribed_events.local_date)::integer,
                    subscribed_events.bill_cycle_day
                )
                - interval '1 month'
            )::date
        end as cycle_start
    from subscribed_events
),

-- longest-prefix match: one equality join per prefix length, the longest hit wins
destination_matched as (
    select
        cycled.*,
        coalesce(
            {%- for n in range(prefix_depth, 0, -1) %}
                prefix_{{ n }}.prefix{{ "," if not loop.last }}
            {%- endfor %}
        ) as matched_prefix,
        coalesce(
            {%- for n in range(prefix_depth, 0, -1) %}
                prefix_{{ n }}.zone{{ "," if not loop.last }}
            {%- endfor %}
        ) as destination_zone
    from
        cycled
    {%- for n in range(1, prefix_depth + 1) %}
        left join {{ ref('destinations') }} as prefix_{{ n }}
            on
                cycled.number_kind = prefix_{{ n }}.number_kind
                and length(prefix_{{ n }}.prefix) = {{ n }}
                and left(cycled.other_party_msisdn, {{ n }}) = prefix_{{ n }}.prefix
    {%- endfor %}
),

zoned as (
    with matched_events as (
        select * from destination_matched
    )

    select
        matched_events.*,
        visited.roaming_zone as visited_roaming_zone,
        coalesce(visited.is_rlah, false) as is_rlah,
        -- roaming outside roam-like-at-home: the visited country decides, whatever the destination
        case
            when matched_events.is_roaming and not coalesce(visited.is_rlah, false)
                then visited.roaming_zone
            when matched_events.service = 'data' then 'national'
            else matched_events.destination_zone
        end as zone,
        case
            when
                matched_events.is_roaming and not coalesce(visited.is_rlah, false)
                or matched_events.service = 'data'
                then null
            else matched_events.matched_prefix
        end as zone_prefix,
        case
            when extract(isodow from matched_events.local_start) in (6, 7) then 'weekend'
            when holidays.holiday_date is not null then 'weekend'
            when
                matched_events.local_start::time >= '08:00:00'
                and matched_events.local_start::time < '20:00:00'
                then 'peak'
            else 'offpeak'
        end as time_band
    from matched_events
    left join {{ ref('roaming_zones') }} as visited
        on matched_events.is_roaming and matched_events.serving_mcc = visited.mcc
    left join {{ ref('holidays') }} as holidays
        on matched_events.local_date = holidays.holiday_date
),

-- the row for the exact band first, else the `any` row, both valid on the event's local date
rated as (
    select
        zoned.*,
        coalesce(band_rate.rate_id, any_rate.rate_id) as rate_id,
        coalesce(band_rate.price, any_rate.price) as price,
        coalesce(band_rate.connect_fee, any_rate.connect_fee) as connect_fee,
        coalesce(band_rate.minimum_charge, any_rate.minimum_charge) as minimum_charge,
        coalesce(band_rate.initial_increment, any_rate.initial_increment) as initial_increment,
        coalesce(band_rate.subsequent_increment, any_rate.subsequent_increment) as subsequent_increment
    from zoned
    left join {{ ref('rate_cards') }} as band_rate
        on
            zoned.plan_id = band_rate.plan_id
            and zoned.service = band_rate.service
            and zoned.direction = band_rate.direction
            and zoned.zone = band_rate.zone
            and zoned.time_band = band_rate.time_band
            and zoned.local_date >= band_rate.valid_from
            and (band_rate.valid_to is null or zoned.local_date < band_rate.valid_to)
    left join {{ ref('rate_cards') }} as any_rate
        on
            zoned.plan_id = any_rate.plan_id
            and zoned.service = any_rate.service
            and zoned.direction = any_rate.direction
            and zoned.zone = any_rate.zone
            and any_rate.time_band = 'any'
            and zoned.local_date >= any_rate.valid_from
            and (any_rate.valid_to is null or zoned.local_date < any_rate.valid_to)
),

-- rule 8 as a lookup table: the best promotion for each service, plan, segment, zone and band, in
-- each period over which the set of valid promotions does not change. A hash join against it runs
-- in the parallel workers; a lateral lookup with a limit per event never does.
promotion_bounds as not materialized (
    select '-infinity'::date as bound
    union
    select valid_from from {{ ref('promotions') }}
    union
    select valid_to from {{ ref('promotions') }}
    where valid_to is not null
),

promotion_periods as (
    -- a self-join, not lead(): a subquery with a window function keeps the whole join out of the workers
    select
        starts.bound as period_start,
        min(ends.bound) as period_end
    from promotion_bounds as starts
    left join promotion_bounds as ends on starts.bound < ends.bound
    group by starts.bound
),

-- an event without a segment is matched by the segment '' (only promotions for any segment); union
-- keeps each segment once
customer_segments as (
    select coalesce(segment, '') as segment from {{ ref('stg_crm__customers') }}
    union
    select ''
),

best_promotions as (
    select distinct on (
        promotions.service,
        plans.plan_id,
        customer_segments.segment,
        zones.zone,
        time_bands.time_band,
        promotion_periods.period_start
    )
        promotions.service,
        plans.plan_id,
        customer_segments.segment,
        zones.zone,
        time_bands.time_band,
        promotion_periods.period_start,
        promotion_periods.period_end,
        promotions.promotion_id,
        promotions.discount_pct
    from {{ ref('promotions') }} as promotions
    inner join promotion_periods
        on
            promotions.valid_from <= promotion_periods.period_start
            and (promotions.valid_to is null or promotions.valid_to > promotion_periods.period_start)
    inner join {{ ref('plans') }} as plans
        on promotions.plan_id is null or promotions.plan_id = plans.plan_id
    inner join customer_segments
        on promotions.segment is null or promotions.segment = customer_segments.segment
    inner join {{ ref('zones') }} as zones
        on promotions.zone is null or promotions.zone = zones.zone
    inner join (values ('peak'), ('offpeak'), ('weekend')) as time_bands (time_band)
        on promotions.time_band in ('any', time_bands.time_band)
    order by
        promotions.service asc,
        plans.plan_id asc,
        customer_segments.segment asc,
        zones.zone asc,
        time_bands.time_band asc,
        promotion_periods.period_start asc,
        promotions.discount_pct desc,
        promotions.promotion_id asc
),

promoted as (
    select
        rated.*,
        best_promotions.promotion_id as candidate_promotion_id,
        best_promotions.discount_pct as candidate_discount_pct
    from rated
    left join best_promotions
        on
            rated.rate_id is not null
            and rated.service = best_promotions.service
            and rated.plan_id = best_promotions.plan_id
            and coalesce(rated.segment, '') = best_promotions.segment
            and rated.zone = best_promotions.zone
            and rated.time_band = best_promotions.time_band
            and rated.local_date >= best_promotions.period_start
            and (best_promotions.period_end is null or rated.local_date < best_promotions.period_end)
)

select
    promoted.usage_id,
    promoted.service,
    promoted.direction,
    promoted.served_msisdn,
    promoted.other_party_msisdn,
    promoted.start_time,
    promoted.local_start,
    promoted.local_date,
    promoted.mediated_batch_id,
    promoted.mediated_corrected_at,
    promoted.subscription_id,
    promoted.customer_id,
    promoted.segment,
    promoted.plan_id,
    promoted.cycle_start,
    (promoted.cycle_start + interval '1 month')::date as cycle_end,
    -- the plan period clipped to the cycle: allowances are prorated over it (rule 6)
    greatest(promoted.plan_valid_from, promoted.cycle_start) as plan_period_start,
    case
        when promoted.cycle_start is not null
            then
                least(
                    coalesce(promoted.plan_valid_to, 'infinity'::date),
                    (promoted.cycle_start + interval '1 month')::date
                )
    end as plan_period_end,
    promoted.is_roaming,
    promoted.serving_mcc,
    promoted.is_rlah,
    promoted.zone,
    zones.zone_class,
    promoted.zone_prefix as matched_prefix,
    promoted.time_band,
    promoted.rate_id,
    promoted.price,
    promoted.connect_fee,
    promoted.minimum_charge,
    promoted.initial_increment,
    promoted.subsequent_increment,
    promoted.quantity,
    -- rule 5: q <= 0 -> 0; q <= i -> i; else i + ceil((q - i) / s) * s (unrated MT keeps its quantity)
    case
        when promoted.rate_id is null then greatest(promoted.quantity, 0)
        when promoted.quantity <= 0 then 0
        when promoted.quantity <= promoted.initial_increment then promoted.initial_increment
        else
            promoted.initial_increment
            + (
                (promoted.quantity - promoted.initial_increment + promoted.subsequent_increment - 1)
                / promoted.subsequent_increment
            )
            * promoted.subsequent_increment
    end as rounded_quantity,
    case promoted.service
        when 'voice' then config.voice_unit_seconds
        when 'data' then config.data_unit_bytes
        else 1
    end as price_unit,
    -- rule 6: only originating domestic usage (domestic zones, RLAH included) draws on allowances
    coalesce(zones.draws_allowance and promoted.direction = 'mo', false) as draws_allowance,
    case promoted.service
        when 'voice' then plans.voice_allowance_min::bigint * 60
        when 'sms' then plans.sms_allowance::bigint
        when 'data' then plans.data_allowance_mb::bigint * 1048576
    end as plan_allowance,
    promoted.candidate_promotion_id,
    promoted.candidate_discount_pct,
    config.currency,
    case
        when promoted.subscription_id is null or promoted.plan_id is null then 'NO_SUBSCRIPTION'
        when promoted.zone is null then 'NO_DESTINATION'
        -- terminating usage without an mt rate row is zero-rated, not an error (rule 1)
        when promoted.rate_id is null and promoted.direction = 'mo' then 'NO_RATE'
    end as rating_error
from promoted
cross join config
left join {{ ref('zones') }} as zones on promoted.zone = zones.zone
left join {{ ref('plans') }} as plans on promoted.plan_id = plans.plan_id
