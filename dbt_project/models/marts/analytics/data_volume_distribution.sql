-- grain: one row per usage month and volume band: how many lines used that much mobile data in the month.
with

monthly_volume as (
    select
        subscription_id,
        to_char(local_start, 'YYYY-MM') as usage_month,
        sum(rounded_quantity) as data_bytes
    from {{ ref('rated_usage') }}
    where service = 'data'
    group by subscription_id, to_char(local_start, 'YYYY-MM')
),

bands as (
    select
        band_order,
        band_label,
        lower_mb,
        upper_mb
    from (
        values
        (1, '< 100 MB', 0, 100),
        (2, '100 MB – 1 GB', 100, 1024),
        (3, '1 – 5 GB', 1024, 5120),
        (4, '5 – 20 GB', 5120, 20480),
        (5, '20 – 50 GB', 20480, 51200),
        (6, '≥ 50 GB', 51200, null)
    ) as band_values (band_order, band_label, lower_mb, upper_mb)
),

banded as (
    select
        monthly_volume.usage_month,
        bands.band_order,
        bands.band_label,
        monthly_volume.data_bytes
    from monthly_volume
    cross join {{ ref('rating_config') }} as rating_config
    inner join bands
        on
            monthly_volume.data_bytes >= bands.lower_mb::bigint * rating_config.data_unit_bytes
            and (
                bands.upper_mb is null
                or monthly_volume.data_bytes < bands.upper_mb::bigint * rating_config.data_unit_bytes
            )
)

select
    banded.usage_month,
    banded.band_order::integer as band_order,
    banded.band_label::text as band_label,
    count(*)::bigint as subscriptions,
    round(sum(banded.data_bytes) / max(rating_config.data_unit_bytes)::numeric, 3)::numeric(20, 3) as data_mb
from banded
cross join {{ ref('rating_config') }} as rating_config
group by banded.usage_month, banded.band_order, banded.band_label
