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
