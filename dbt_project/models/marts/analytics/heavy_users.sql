-- grain: one row per usage month and line among the month's top 1 % by data volume (at least 10 lines):
-- pseudonymized, the line is known only by its MSISDN hash, its plan and its segment.
with

monthly as (
    select
        subscription_id,
        to_char(local_start, 'YYYY-MM') as usage_month,
        min(served_msisdn) as served_msisdn,
        min(plan_id) as plan_id,
        min(segment) as segment,
        sum(case when service = 'data' then rounded_quantity else 0 end) as data_bytes,
        sum(case when service = 'voice' then rounded_quantity else 0 end) as voice_seconds,
        sum(case when service = 'sms' then rounded_quantity else 0 end) as messages,
        sum(net_amount) as net_amount
    from {{ ref('rated_usage') }}
    group by subscription_id, to_char(local_start, 'YYYY-MM')
),

ranked as (
    select
        *,
        rank() over (partition by usage_month order by data_bytes desc) as data_rank,
        count(*) over (partition by usage_month) as lines_in_month
    from monthly
)

select
    ranked.usage_month,
    {{ pseudonymize('ranked.served_msisdn') }} as msisdn_hash,
    ranked.plan_id,
    ranked.segment,
    ranked.data_rank::integer as data_rank,
    round(ranked.data_bytes / rating_config.data_unit_bytes::numeric, 3)::numeric(20, 3) as data_mb,
    round(ranked.voice_seconds / rating_config.voice_unit_seconds::numeric, 3)::numeric(20, 3) as voice_minutes,
    ranked.messages::bigint as messages,
    ranked.net_amount::numeric(18, 6) as net_amount
from ranked
cross join {{ ref('rating_config') }} as rating_config
where ranked.data_rank <= greatest(10, ceil(ranked.lines_in_month * 0.01))
