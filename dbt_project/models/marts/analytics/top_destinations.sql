-- grain: one row per usage month, service, destination prefix (the longest that matched) and zone of
-- originating calls and texts: where subscribers call, ranked by events within the month and service.
-- A prefix can name two zones (1 is both NANP and the short codes), hence the zone in the grain.
with

rated as (
    select
        to_char(local_start, 'YYYY-MM') as usage_month,
        service,
        zone,
        zone_class,
        matched_prefix,
        rounded_quantity,
        net_amount
    from {{ ref('rated_usage') }}
    where direction = 'mo' and service in ('voice', 'sms') and matched_prefix is not null
),

destinations as (
    select
        rated.usage_month,
        rated.service,
        rated.matched_prefix,
        rated.zone,
        min(rated.zone_class) as zone_class,
        count(*) as events,
        sum(rated.rounded_quantity) as rounded_quantity,
        sum(rated.net_amount) as net_amount
    from rated
    group by rated.usage_month, rated.service, rated.matched_prefix, rated.zone
)

select
    destinations.usage_month,
    destinations.service,
    destinations.matched_prefix as destination_prefix,
    coalesce(reference.description, destinations.matched_prefix) as destination_name,
    destinations.zone,
    destinations.zone_class,
    {{ printed_unit('destinations.service') }} as quantity_unit,
    destinations.events::bigint as events,
    {{ in_printed_units('destinations.rounded_quantity', 'destinations.service', 'rating_config') }}
        as used_quantity,
    destinations.net_amount::numeric(18, 6) as net_amount,
    rank() over (
        partition by destinations.usage_month, destinations.service order by destinations.events desc
    )::integer as events_rank
from destinations
cross join {{ ref('rating_config') }} as rating_config
left join {{ ref('destinations') }} as reference
    on destinations.matched_prefix = reference.prefix and destinations.zone = reference.zone
