-- grain: one row per subscription, local day and service: what the line used and what it cost.
-- The care page and the consumption charts read it; it keeps the MSISDN only as a salted hash.
{{
    config(
        indexes=[
            {'columns': ['customer_id', 'usage_date']},
            {'columns': ['usage_date']},
        ],
        post_hook="analyze {{ this }}",
    )
}}

with

rated as (
    select
        subscription_id,
        customer_id,
        served_msisdn,
        local_start::date as usage_date,
        service,
        rounded_quantity,
        allowance_drawn,
        chargeable_quantity,
        gross_amount,
        discount_amount,
        net_amount
    from {{ ref('rated_usage') }}
),

daily as (
    select
        subscription_id,
        usage_date,
        service,
        min(customer_id) as customer_id,
        min(served_msisdn) as served_msisdn,
        count(*) as events,
        sum(rounded_quantity) as rounded_quantity,
        sum(allowance_drawn) as allowance_drawn,
        sum(chargeable_quantity) as chargeable_quantity,
        sum(gross_amount) as gross_amount,
        sum(discount_amount) as discount_amount,
        sum(net_amount) as net_amount
    from rated
    group by subscription_id, usage_date, service
)

select
    daily.subscription_id,
    daily.customer_id,
    {{ pseudonymize('daily.served_msisdn') }} as msisdn_hash,
    daily.usage_date,
    daily.service,
    {{ printed_unit('daily.service') }} as quantity_unit,
    daily.events::bigint as events,
    {{ in_printed_units('daily.rounded_quantity', 'daily.service', 'rating_config') }} as used_quantity,
    {{ in_printed_units('daily.allowance_drawn', 'daily.service', 'rating_config') }} as allowance_used,
    {{ in_printed_units('daily.chargeable_quantity', 'daily.service', 'rating_config') }} as charged_quantity,
    daily.gross_amount::numeric(18, 6) as gross_amount,
    daily.discount_amount::numeric(18, 6) as discount_amount,
    daily.net_amount::numeric(18, 6) as net_amount
from daily
cross join {{ ref('rating_config') }} as rating_config
