-- grain: one row per customer (the bill payer); personal fields stay here for invoicing
-- depends_on: {{ ref('stg_crm__subscription_plans') }}
-- (ordering only: views that read several CRM views are dropped by the `drop ... cascade` of each
-- replaced view; replacing the CRM views one after another keeps those drops from deadlocking)
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
