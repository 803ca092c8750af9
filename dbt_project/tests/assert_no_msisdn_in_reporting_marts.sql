{#- PII guard for everything the reporting role can read: every table and view in the reporting schemas
    (var reporting_schemas), whatever its name, is scanned. A row here is a leak: a column named like a
    personal field, or a text value equal to a subscriber's MSISDN (in any format mediation accepts). -#}
{{ config(meta={'dagster': {'ref': {'name': 'customer_invoices'}}}) }}
-- depends_on: {{ ref('subscription_daily_usage') }}
-- depends_on: {{ ref('allowance_usage_by_cycle') }}
-- depends_on: {{ ref('customer_invoices') }}
-- depends_on: {{ ref('revenue_by_month') }}
-- depends_on: {{ ref('revenue_kpis') }}
-- depends_on: {{ ref('usage_heatmap') }}
-- depends_on: {{ ref('top_destinations') }}
-- depends_on: {{ ref('roaming_by_country') }}
-- depends_on: {{ ref('data_volume_distribution') }}
-- depends_on: {{ ref('heavy_users') }}
-- depends_on: {{ ref('landing_per_minute') }}
-- depends_on: {{ ref('pipeline_latency') }}
-- depends_on: {{ ref('reject_rates') }}
-- depends_on: {{ ref('dbt_model_runs') }}
-- depends_on: {{ ref('quality_check_results') }}
{%- set personal_names = ['msisdn', 'served_msisdn', 'other_party_msisdn', 'customer_name', 'email', 'street',
    'customer_street', 'postcode', 'customer_postcode', 'customer_vat_id', 'imsi', 'imei'] %}
{%- set columns = [] %}
{%- if execute %}
    {%- set listing %}
        select table_schema, table_name, column_name, data_type
        from information_schema.columns
        where table_schema in ('{{ var("reporting_schemas") | join("', '") }}')
        order by table_schema, table_name, ordinal_position
    {%- endset %}
    {%- set columns = run_query(listing).rows %}
{%- endif %}

with

known_numbers as (
    select msisdn as number_text from {{ ref('stg_crm__subscriptions') }}
    union
    select '+' || msisdn from {{ ref('stg_crm__subscriptions') }}
    union
    select '0' || substr(msisdn, 3) from {{ ref('stg_crm__subscriptions') }}
),

findings as (
    select
        null::text as relation_name,
        null::text as column_name,
        null::text as finding
    where false
    {%- for column in columns %}
        {%- if column[2] | lower in personal_names %}
    union all
    select '{{ column[0] }}.{{ column[1] }}', '{{ column[2] }}', 'personal column name'
        {%- endif %}
        {%- if column[3] in ('text', 'character varying', 'character') %}
    union all
    select distinct
        '{{ column[0] }}.{{ column[1] }}',
        '{{ column[2] }}',
        'holds an MSISDN'
    from {{ column[0] }}.{{ column[1] }} as scanned
    where scanned.{{ adapter.quote(column[2]) }} in (select known_numbers.number_text from known_numbers)
        {%- endif %}
    {%- endfor %}
)

select * from findings
