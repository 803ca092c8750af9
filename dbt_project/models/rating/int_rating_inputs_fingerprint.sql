-- grain: one row: a fingerprint of every input that prices an event other than the event itself
-- (tariff seeds and the CRM columns rating reads). When it changes, int_usage_events_rated re-rates.
{%- set inputs = [
    (ref('rate_cards'), 't::text'),
    (ref('promotions'), 't::text'),
    (ref('plans'), 't::text'),
    (ref('zones'), 't::text'),
    (ref('destinations'), 't::text'),
    (ref('roaming_zones'), 't::text'),
    (ref('holidays'), 't::text'),
    (ref('rating_config'), 't::text'),
    (ref('stg_crm__subscriptions'), "concat_ws(',', subscription_id, customer_id, msisdn, activation_date, termination_date)"),
    (ref('stg_crm__subscription_plans'), 't::text'),
    (ref('stg_crm__customers'), "concat_ws(',', customer_id, segment, bill_cycle_day)"),
] %}
with

input_hashes as (
    {%- for relation, row_text in inputs %}
        select
            {{ loop.index }} as input_order,
            coalesce(md5(string_agg(md5({{ row_text }}), '' order by md5({{ row_text }}))), '') as input_hash
        from {{ relation }} as t
        {{ "union all" if not loop.last }}
    {%- endfor %}
)

select md5(string_agg(input_hash, '|' order by input_order))::uuid as reference_fingerprint
from input_hashes
