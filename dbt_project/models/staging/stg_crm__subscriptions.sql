-- grain: one row per subscription (a line with its MSISDN); active over [activation_date, termination_date)
with

source as (
    select * from {{ source('crm', 'subscriptions') }}
),

renamed as (
    select
        subscription_id,
        customer_id,
        msisdn,
        imsi,
        imei,
        activation_date,
        termination_date,
        status
    from source
)

select * from renamed
