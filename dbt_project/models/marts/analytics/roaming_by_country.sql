-- grain: one row per usage month, service and visited country: roaming usage and its share of the
-- month's usage of that service (events).
with

rated as (
    select
        to_char(local_start, 'YYYY-MM') as usage_month,
        service,
        is_roaming,
        serving_mcc,
        is_rlah,
        rounded_quantity,
        net_amount
    from {{ ref('rated_usage') }}
),

service_months as (
    select
        usage_month,
        service,
        count(*) as all_events
    from rated
    group by usage_month, service
),

roaming as (
    select
        usage_month,
        service,
        serving_mcc,
        bool_and(is_rlah) as is_rlah,
        count(*) as events,
        sum(rounded_quantity) as rounded_quantity,
        sum(net_amount) as net_amount
    from rated
    where is_roaming
    group by usage_month, service, serving_mcc
)

select
    roaming.usage_month,
    roaming.service,
    roaming.serving_mcc,
    coalesce(countries.country_code, '??') as country_code,
    coalesce(countries.country_name, 'MCC ' || roaming.serving_mcc) as country_name,
    roaming.is_rlah,
    {{ printed_unit('roaming.service') }} as quantity_unit,
    roaming.events::bigint as events,
    {{ in_printed_units('roaming.rounded_quantity', 'roaming.service', 'rating_config') }} as used_quantity,
    roaming.net_amount::numeric(18, 6) as net_amount,
    round(100.0 * roaming.events / service_months.all_events, 3)::numeric(7, 3) as share_of_service_events_pct
from roaming
inner join service_months
    on roaming.usage_month = service_months.usage_month and roaming.service = service_months.service
cross join {{ ref('rating_config') }} as rating_config
left join {{ ref('roaming_zones') }} as countries on roaming.serving_mcc = countries.mcc
