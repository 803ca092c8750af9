-- grain: one row per subscription (line): who it belongs to, for care agents' search. Personal data:
-- this schema is never granted to the reporting role. msisdn_hash links a line to the analytics marts.
{{
    config(
        indexes=[
            {'columns': ['customer_id']},
            {'columns': ['msisdn']},
            {'columns': ['lower(customer_name)']},
        ]
    )
}}

with

current_plans as (
    select distinct on (subscription_id)
        subscription_id,
        plan_id
    from {{ ref('stg_crm__subscription_plans') }}
    order by subscription_id asc, valid_from desc
)

select
    subscriptions.subscription_id,
    subscriptions.customer_id,
    customers.customer_name,
    customers.email,
    customers.city,
    customers.segment,
    customers.bill_cycle_day,
    subscriptions.msisdn,
    {{ pseudonymize('subscriptions.msisdn') }} as msisdn_hash,
    current_plans.plan_id as current_plan_id,
    subscriptions.status,
    subscriptions.activation_date,
    subscriptions.termination_date
from {{ ref('stg_crm__subscriptions') }} as subscriptions
inner join {{ ref('stg_crm__customers') }} as customers on subscriptions.customer_id = customers.customer_id
left join current_plans on subscriptions.subscription_id = current_plans.subscription_id
