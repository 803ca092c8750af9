-- per rated event: the allowance split adds up, amounts are consistent, and charged usage has a rate row
select
    usage_id,
    rounded_quantity,
    allowance_drawn,
    chargeable_quantity,
    gross_amount,
    discount_amount,
    net_amount
from {{ ref('rated_usage') }}
where
    (rate_id is not null and allowance_drawn + chargeable_quantity <> rounded_quantity)
    -- zero-rated terminating usage is kept with its quantity but never charged
    or (rate_id is null and (chargeable_quantity <> 0 or gross_amount <> 0))
    or allowance_drawn < 0
    or chargeable_quantity < 0
    or gross_amount < 0
    or discount_amount < 0
    or discount_amount > gross_amount
    or net_amount <> gross_amount - discount_amount
    or (chargeable_quantity > 0 and gross_amount < minimum_charge)
    or (direction = 'mo' and rate_id is null)
    or (allowance_remaining < 0)
