-- grain: one row per plan period of a subscription, over [valid_from, valid_to) in local dates
-- depends_on: {{ ref('stg_crm__subscriptions') }}
-- (ordering only: views that read several CRM views are dropped by the `drop ... cascade` of each
-- replaced view; replacing the CRM views one after another keeps those drops from deadlocking)
with

source as (
    select * from {{ source('crm', 'subscription_plans') }}
),

renamed as (
    select
        subscription_id,
        plan_id,
        valid_from,
        valid_to
    from source
)

select * from renamed
