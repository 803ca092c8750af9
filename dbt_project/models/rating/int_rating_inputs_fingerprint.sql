-- grain: one row: a fingerprint of every input that prices an event other than the event itself
-- (tariff seeds and the CRM columns rating reads). When it changes, int_usage_events_rated re-rates.
{%- set inputs = [
    (ref('rate_cards'), 'input_rows::text'),
    (ref('promotions'), 'input_rows::text'),
    (ref('plans'), 'input_rows::text'),
    (ref('zones'), 'input_rows::text'),
    (ref('destinations'), 'input_rows::text'),
    (ref('roaming_zones'), 'input_rows::text'),
    (ref('holidays'), 'input_rows::text'),
    (ref('rating_config'), 'input_rows::text'),
    (ref('stg_crm__subscriptions'), "concat_ws(',', input_rows.subscription_id, input_rows.customer_id, input_rows.msisdn, input_rows.activation_date, input_rows.termination_date)"),
    (ref('stg_crm__subscription_plans'), 'input_rows::text'),
    (ref('stg_crm__customers'), "concat_ws(',', input_rows.customer_id, input_rows.segment, input_rows.bill_cycle_day)"),
] %}
with

input_hashes as (
    {%- for relation, row_text in inputs %}
        select
            {{ loop.index }} as input_order,
            coalesce(md5(string_agg(md5({{ row_text }}), '' order by md5({{ row_text }}))), '') as input_hash
        from {{ relation }} as input_rows
        {{ "union all" if not loop.last }}
    {%- endfor %}
)

select md5(string_agg(input_hash, '|' order by input_order))::uuid as reference_fingerprint
from input_hashes
