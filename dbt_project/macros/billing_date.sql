{#- The date billing runs as of: var billing_date (YYYY-MM-DD), else today in the operator's timezone.
    Cycles whose billable_on is on or before it are issued; the same date re-run issues nothing new. -#}
{% macro billing_date() -%}
    {%- if var('billing_date', none) -%}
        '{{ var('billing_date') }}'::date
    {%- else -%}
        (now() at time zone (select rating_config.timezone from {{ ref('rating_config') }} as rating_config))::date
    {%- endif -%}
{%- endmacro %}

{#- The first day of the bill cycle with day `cycle_day` (1–28) that holds `local_date`. -#}
{% macro cycle_start_of(local_date, cycle_day) -%}
    (date_trunc('month', {{ local_date }} - ({{ cycle_day }} - 1)) + ({{ cycle_day }} - 1) * interval '1 day')::date
{%- endmacro %}

{#- int_billing_usage sums only the cycles billable on its billing date. Issuing with another date (a run that
    selected issued_invoice_items but not int_billing_usage) would bill later cycles without their usage, so
    it stops with an error instead. -#}
{% macro assert_usage_summed_for_billing_date(usage_relation) -%}
    do $$
    begin
        if exists (
            select from {{ usage_relation }} where summed_for_billing_date <> {{ billing_date() }} limit 1
        ) then
            raise exception 'int_billing_usage was built for another billing date: build it with the same vars';
        end if;
    end
    $$
{%- endmacro %}
