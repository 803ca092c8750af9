-- grain: one row per mediated usage event: rated (with the allowance draw and the amounts) or held
-- in rating suspense with an error code. rated_usage and rating_errors are the two halves.
--
-- incremental: an event can change the allowance draw of every later event of its (subscription,
-- cycle). So the new events (newer mediated batches or corrections) give each touched pair a cut-off
-- time; that pair's events from the cut-off on are rated again, starting from the allowance already
-- used before it. When the tariffs or the CRM change (int_rating_inputs_fingerprint), everything is:
-- the full-refresh query, keeping first_rated_at, and replace_by_key rewrites the table.
-- planner: it prices the five-key hash join against the few hundred rate cards by its single most
-- selective key, so it sorted every event for two merge joins instead; without merge joins the full
-- rebuild of 2.6M events took 33 s instead of 41 s, and an incremental select 12 s instead of 13 s
-- work_mem (var micro_batch_work_mem) in an incremental run: 600k new events on 2M selected in 10.9-12.5 s
-- instead of 12.9-13.3 s
{{
    config(
        materialized='incremental',
        unique_key='usage_id',
        replaceable_rows='first_rated_at < rated_at',
        rewrite_when_changed='reference_fingerprint',
        pre_hook=["set local enable_mergejoin = off", "{{ micro_batch_work_mem() }}"],
        indexes=[
            {'columns': ['usage_id'], 'unique': true},
            {'columns': ['subscription_id', 'cycle_start', 'service', 'start_time', 'usage_id']},
            {'columns': ['mediated_batch_id']},
        ],
        post_hook=[
            "{{ partial_index('mediated_corrected_at', 'mediated_corrected_at is not null') }}",
            "{{ analyze_after_full_refresh() }}",
        ],
    )
}}
{#- the partial corrected-at index lets max(mediated_corrected_at) below read a few rows, not all -#}
{%- set filter_new = none %}
{%- set incremental = is_incremental() %}
{%- set rerate_all = false %}
{%- set checked_fingerprint = none %}
{%- if incremental and execute %}
    {%- set state = run_query(
        "select (select reference_fingerprint from " ~ ref('int_rating_inputs_fingerprint') ~ ")::text,"
        ~ " (select max(previous.mediated_batch_id) from " ~ this ~ " as previous),"
        ~ " (select max(previous.mediated_corrected_at) from " ~ this ~ " as previous)::text,"
        ~ " (select previous.reference_fingerprint from " ~ this ~ " as previous limit 1)::text"
    ).rows[0] %}
    {%- if state[0] == state[3] and state[1] is not none %}
        {%- set checked_fingerprint = state[3] %}
        {%- set filter_new = "classified.mediated_batch_id > " ~ state[1]
            ~ " or classified.mediated_corrected_at > " ~ ("'" ~ state[2] ~ "'::timestamptz" if state[2] else "'-infinity'::timestamptz") %}
    {%- else %}
        {#- a changed fingerprint re-rates every event: the full-refresh query, keeping each event's
            first_rated_at; replace_by_key then rewrites the table (rewrite_when_changed) -#}
        {%- set incremental = false %}
        {%- set rerate_all = true %}
    {%- endif %}
{%- endif %}
with

fingerprint as (
    {%- if checked_fingerprint %}
        -- the fingerprint this run was checked against: the rows of a run that changes it are a whole
        -- rewrite (rewrite_when_changed); a change made since the check is left to the next run
        select '{{ checked_fingerprint }}'::uuid as reference_fingerprint
    {%- else %}
        select reference_fingerprint from {{ ref('int_rating_inputs_fingerprint') }}
    {%- endif %}
),

new_events as (
    select classified.* from {{ ref('int_usage_events_classified') }} as classified
    {%- if filter_new %}
        where {{ filter_new }}
    {%- endif %}
),

{% if incremental %}
    -- the earlier rating of each new event that has one: the usage_id index walked once, in key order,
    -- with the array of new ids (a join would read the whole rated table, and a probe per new event was
    -- 600k descents)
    previous_versions as (
        select
            previous.usage_id,
            previous.subscription_id,
            previous.cycle_start,
            previous.start_time,
            previous.first_rated_at
        from {{ this }} as previous
        where previous.usage_id = any(array(select new_events.usage_id from new_events))
    ),

    -- the earliest start per touched pair, over the new events and their previous versions
    -- (an event whose subscription or cycle changed leaves a gap in its old pair)
    cutoffs as (
        select
            touched.subscription_id,
            touched.cycle_start,
            min(touched.start_time) as rerate_from
        from (
            select
                new_events.subscription_id,
                new_events.cycle_start,
                new_events.start_time
            from new_events
            union all
            select
                previous_versions.subscription_id,
                previous_versions.cycle_start,
                previous_versions.start_time
            from previous_versions
        ) as touched
        where touched.subscription_id is not null
        group by touched.subscription_id, touched.cycle_start
        -- the probes below then visit the index and the table (written in this order) in order:
        -- at 10M rated events, 11 µs a probe instead of 13 µs, both on a warm cache
        order by touched.subscription_id, touched.cycle_start
    ),

    -- the last rated event of each touched pair and service: one backward probe of the allowance-pool
    -- index each. Traffic that arrives in order starts after it, so the allowance goes on from its
    -- running total and nothing is rated again; a pair and service whose last event is at or after the
    -- cut-off is late.
    last_rated as (
        select
            cutoffs.subscription_id,
            cutoffs.cycle_start,
            cutoffs.rerate_from,
            services.service,
            last_event.plan_period_start,
            last_event.pool_quantity_through,
            last_event.start_time >= cutoffs.rerate_from as is_late
        from cutoffs
        cross join (values ('voice'), ('sms'), ('data')) as services (service)
        inner join lateral (
            select
                previous.start_time,
                previous.plan_period_start,
                previous.pool_quantity_through
            from {{ this }} as previous
            where
                previous.subscription_id = cutoffs.subscription_id
                and previous.cycle_start = cutoffs.cycle_start
                and previous.service = services.service
            order by previous.start_time desc, previous.usage_id desc
            limit 1
        ) as last_event on true
    ),

    -- already classified events of the late pairs and services from the cut-off on: their draw may change
    carried as (
        select
            {{ column_list(ref('int_usage_events_classified'), 'previous') }},
            previous.first_rated_at
        from {{ this }} as previous
        inner join last_rated as late
            on
                previous.subscription_id = late.subscription_id
                and previous.cycle_start = late.cycle_start
                and previous.service = late.service
                and previous.start_time >= late.rerate_from
        where
            late.is_late
            and not exists (
                select 1 from new_events
                where new_events.usage_id = previous.usage_id
            )
    ),

    -- what each allowance pool had used before the cut-off: the running total of the pair's last event
    -- of that service before it (only the plan period holding that event can straddle the cut-off;
    -- a later period starts from zero). A late pair and service needs one more probe for it.
    pool_base as (
        select
            subscription_id,
            cycle_start,
            plan_period_start,
            service,
            pool_quantity_through as quantity_before
        from last_rated
        where not is_late
        union all
        select
            late.subscription_id,
            late.cycle_start,
            last_before.plan_period_start,
            late.service,
            last_before.pool_quantity_through as quantity_before
        from last_rated as late
        inner join lateral (
            select
                previous.plan_period_start,
                previous.pool_quantity_through
            from {{ this }} as previous
            where
                previous.subscription_id = late.subscription_id
                and previous.cycle_start = late.cycle_start
                and previous.service = late.service
                and previous.start_time < late.rerate_from
            order by previous.start_time desc, previous.usage_id desc
            limit 1
        ) as last_before on true
        where late.is_late
    ),
{% endif %}

-- first_rated_at survives re-rating; it also tells replace_by_key which rows replace an earlier rating
to_rate as (
    select
        new_events.*,
        {% if incremental or rerate_all -%}
            coalesce(previous_versions.first_rated_at, now())
        {%- else -%}
            now()
        {%- endif %} as first_rated_at
    from new_events
    {% if incremental %}
        -- the linter pairs this join with the full-refresh branch of first_rated_at above
        left join previous_versions on new_events.usage_id = previous_versions.usage_id  -- noqa: ST11
        union all
        select * from carried
    {% elif rerate_all %}
        -- every earlier rating stands for the previous versions
        left join {{ this }} as previous_versions on new_events.usage_id = previous_versions.usage_id
    {% endif %}
),

-- rule 6: each plan period of the cycle gets floor(allowance x its days / cycle days)
pooled as (
    select
        to_rate.*,
        case
            when to_rate.plan_allowance is not null
                then floor(
                    to_rate.plan_allowance::numeric
                    * (to_rate.plan_period_end - to_rate.plan_period_start)
                    / (to_rate.cycle_end - to_rate.cycle_start)
                )::bigint
        end as pool_allowance,
        (
            sum(
                case
                    when to_rate.draws_allowance and to_rate.rating_error is null then to_rate.rounded_quantity else 0
                end
            )
                over (
                    partition by
                        to_rate.subscription_id, to_rate.cycle_start, to_rate.plan_period_start, to_rate.service
                    order by to_rate.start_time, to_rate.usage_id
                    rows between unbounded preceding and current row
                )
            {% if incremental %}
                + coalesce(pool_base.quantity_before, 0)
            {% endif %}
        )::bigint as pool_quantity_through
    from to_rate
    {% if incremental %}
        left join pool_base
            on
                to_rate.subscription_id = pool_base.subscription_id
                and to_rate.cycle_start = pool_base.cycle_start
                and to_rate.plan_period_start = pool_base.plan_period_start
                and to_rate.service = pool_base.service
    {% endif %}
),

drawn as (
    select
        pooled.*,
        case
            when pooled.rating_error is not null or not pooled.draws_allowance then 0
            when pooled.pool_allowance is null then pooled.rounded_quantity
            -- the covered part of an event that crosses the end of the allowance is free, the rest is charged
            else
                least(pooled.pool_quantity_through, pooled.pool_allowance)
                - least(pooled.pool_quantity_through - pooled.rounded_quantity, pooled.pool_allowance)
        end as allowance_drawn
    from pooled
),

charged as (
    select
        drawn.*,
        case
            when
                drawn.rating_error is null and drawn.rate_id is not null
                then drawn.rounded_quantity - drawn.allowance_drawn
            else 0
        end
            as chargeable_quantity
    from drawn
),

priced as (
    select
        charged.*,
        -- rule 7: nothing chargeable costs nothing; else connect fee + quantity x price, at least the minimum
        case
            when charged.chargeable_quantity = 0 then 0::numeric
            else greatest(
                round(
                    charged.connect_fee + charged.chargeable_quantity::numeric / charged.price_unit * charged.price, 6
                ),
                charged.minimum_charge
            )
        end as gross_amount
    from charged
),

-- rule 8: the best promotion applies to a charged event only
discounted as (
    select
        priced.*,
        case when priced.gross_amount > 0 then priced.candidate_promotion_id end as promotion_id,
        case
            when priced.gross_amount > 0 and priced.candidate_promotion_id is not null
                then round(priced.gross_amount * priced.candidate_discount_pct / 100, 6)
            else 0::numeric
        end as discount_amount
    from priced
)

select
    discounted.usage_id,
    discounted.service,
    discounted.direction,
    discounted.served_msisdn,
    discounted.other_party_msisdn,
    discounted.start_time,
    discounted.local_start,
    discounted.local_date,
    discounted.mediated_batch_id,
    discounted.mediated_corrected_at,
    discounted.subscription_id,
    discounted.customer_id,
    discounted.segment,
    discounted.plan_id,
    discounted.cycle_start,
    discounted.cycle_end,
    discounted.plan_period_start,
    discounted.plan_period_end,
    discounted.is_roaming,
    discounted.serving_mcc,
    discounted.is_rlah,
    discounted.zone,
    discounted.zone_class,
    discounted.matched_prefix,
    discounted.time_band,
    discounted.rate_id,
    discounted.price,
    discounted.connect_fee,
    discounted.minimum_charge,
    discounted.initial_increment,
    discounted.subsequent_increment,
    discounted.quantity,
    discounted.rounded_quantity,
    discounted.price_unit,
    discounted.draws_allowance,
    discounted.plan_allowance,
    discounted.candidate_promotion_id,
    discounted.candidate_discount_pct,
    discounted.currency,
    discounted.rating_error,
    discounted.pool_allowance,
    discounted.pool_quantity_through,
    discounted.allowance_drawn,
    case
        when discounted.rating_error is null and discounted.draws_allowance and discounted.pool_allowance is not null
            then discounted.pool_allowance - least(discounted.pool_quantity_through, discounted.pool_allowance)
    end as allowance_remaining,
    discounted.chargeable_quantity,
    discounted.gross_amount::numeric(18, 6) as gross_amount,
    discounted.promotion_id,
    discounted.discount_amount::numeric(18, 6) as discount_amount,
    (discounted.gross_amount - discounted.discount_amount)::numeric(18, 6) as net_amount,
    fingerprint.reference_fingerprint,
    discounted.first_rated_at,
    now() as rated_at
from discounted
cross join fingerprint
