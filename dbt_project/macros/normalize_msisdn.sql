{#-
    E.164 digits (no '+') from a number as dialled or presented:
    '+33612345678' / '0033612345678' -> '33612345678'; national '0612345678' -> '33612345678'
    (home country code from the var); short codes and other digit strings are kept as they are.
    Anything that is not digits after stripping spaces, dots, dashes and brackets is returned stripped but
    otherwise unchanged, so that validation can reject it. Short patterns only: see macros/text_checks.sql.
-#}
{% macro normalize_msisdn(number, country_code) -%}
    {%- set stripped = "regexp_replace(" ~ number ~ ", '[\\s.\\-()]', '', 'g')" -%}
    case
        -- already international digits, the common case: nothing to strip or rewrite
        when {{ number }} ~ '^[1-9][0-9]*$' then {{ number }}
        when left({{ stripped }}, 1) = '+' and {{ is_digits("substr(" ~ stripped ~ ", 2)") }}
            then substr({{ stripped }}, 2)
        when left({{ stripped }}, 2) = '00' and {{ is_digits("substr(" ~ stripped ~ ", 3)") }}
            then substr({{ stripped }}, 3)
        when length({{ stripped }}) = 10 and {{ stripped }} ~ '^0[1-9][0-9]+$'
            then {{ country_code }} || substr({{ stripped }}, 2)
        else {{ stripped }}
    end
{%- endmacro %}
