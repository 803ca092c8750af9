-- grain: one row per service, ISO weekday (1 = Monday) and local hour: when subscribers use the network.
with

rated as (
    select
        service,
        extract(isodow from local_start)::integer as iso_weekday,
        extract(hour from local_start)::integer as local_hour,
        rounded_quantity,
        net_amount
    from {{ ref('rated_usage') }}
),

cells as (
    select
        service,
        iso_weekday,
        local_hour,
        count(*) as events,
        sum(rounded_quantity) as rounded_quantity,
        sum(net_amount) as net_amount
    from rated
    group by service, iso_weekday, local_hour
)

select
    cells.service,
    cells.iso_weekday,
    to_char(date '2024-01-01' + (cells.iso_weekday - 1), 'Dy') as weekday_name,
    cells.local_hour,
    {{ printed_unit('cells.service') }} as quantity_unit,
    cells.events::bigint as events,
    {{ in_printed_units('cells.rounded_quantity', 'cells.service', 'rating_config') }} as used_quantity,
    cells.net_amount::numeric(18, 6) as net_amount
from cells
cross join {{ ref('rating_config') }} as rating_config
