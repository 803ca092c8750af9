{#- A rated quantity (seconds, messages, bytes) in the unit an invoice prints (minutes, messages, MB),
    to 3 decimals; `units` is a relation alias holding rating_config's unit columns. -#}
{% macro in_printed_units(quantity, service, units) -%}
    round(
        {{ quantity }} / case {{ service }}
            when 'voice' then {{ units }}.voice_unit_seconds
            when 'data' then {{ units }}.data_unit_bytes
            else 1
        end,
        3
    )::numeric(20, 3)
{%- endmacro %}

{% macro printed_unit(service) -%}
    case {{ service }} when 'voice' then 'minute' when 'data' then 'MB' else 'message' end
{%- endmacro %}
