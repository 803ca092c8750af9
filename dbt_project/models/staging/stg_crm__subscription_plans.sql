-- grain: one row per plan period of a subscription, over [valid_from, valid_to) in local dates
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
