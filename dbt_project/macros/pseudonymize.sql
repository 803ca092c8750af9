{#- A salted SHA-256 of a phone number, hex: the analytics marts expose this instead of the MSISDN.
    The salt comes from the environment (MSISDN_HASH_SALT), so nobody can rebuild the hashes from a list
    of numbers without it; the same salt gives the same hash in every mart, so marts still join. -#}
{% macro pseudonymize(msisdn) -%}
    {%- set salt = env_var('MSISDN_HASH_SALT', '') -%}
    {%- if execute and salt | length < 16 -%}
        {{ exceptions.raise_compiler_error(
            "MSISDN_HASH_SALT is unset or shorter than 16 characters: set it in the environment (.env.example)"
        ) }}
    {%- endif -%}
    encode(sha256(convert_to('{{ salt }}' || {{ msisdn }}, 'UTF8')), 'hex')
{%- endmacro %}
