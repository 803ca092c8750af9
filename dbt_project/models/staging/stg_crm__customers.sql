-- grain: one row per customer (the bill payer); personal fields stay here for invoicing
with

source as (
    select * from {{ source('crm', 'customers') }}
),

renamed as (
    select
        customer_id,
        customer_name,
        street,
        postcode,
        city,
        country,
        email,
        vat_id,
        segment,
        bill_cycle_day::integer as bill_cycle_day,
        tax_region
    from source
)

select * from renamed
