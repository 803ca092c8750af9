{#-
    E.164 digits (no '+') from a number as dialled or presented:
    '+33612345678' / '0033612345678' -> '33612345678'; national '0612345678' -> '33612345678'
    (home country code from the var); short codes and other digit strings are kept as they are.
    Anything that is not digits after stripping spaces, dots and dashes is returned unchanged, so that
    validation can reject it.
-#}
{% macro normalize_msisdn(number, country_code) -%}
    case
        when regexp_replace({{ number }}, '[\s.\-()]', '', 'g') ~ '^\+\d+$'
            then substr(regexp_replace({{ number }}, '[\s.\-()]', '', 'g'), 2)
        when regexp_replace({{ number }}, '[\s.\-()]', '', 'g') ~ '^00\d+$'
            then substr(regexp_replace({{ number }}, '[\s.\-()]', '', 'g'), 3)
        when regexp_replace({{ number }}, '[\s.\-()]', '', 'g') ~ '^0[1-9]\d{8}$'
            then {{ country_code }} || substr(regexp_replace({{ number }}, '[\s.\-()]', '', 'g'), 2)
        else regexp_replace({{ number }}, '[\s.\-()]', '', 'g')
    end
{%- endmacro %}
