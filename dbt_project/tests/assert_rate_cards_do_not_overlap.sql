-- two rows for the same (plan, service, direction, zone, band) must not be valid on the same day
select
    earlier.rate_id,
    later.rate_id as overlapping_rate_id
from {{ ref('rate_cards') }} as earlier
inner join {{ ref('rate_cards') }} as later
    on
        earlier.plan_id = later.plan_id
        and earlier.service = later.service
        and earlier.direction = later.direction
        and earlier.zone = later.zone
        and earlier.time_band = later.time_band
        and earlier.rate_id < later.rate_id
        and daterange(earlier.valid_from, earlier.valid_to) && daterange(later.valid_from, later.valid_to)
