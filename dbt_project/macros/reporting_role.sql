{#- The read-only role BI tools connect as. It reads the analytics and monitoring marts only: dbt `grants`
    give it SELECT on each of those relations, and this hook gives it USAGE on their schemas. raw, crm,
    billing and customer_care are never granted, so it gets "permission denied" there. Its password (if the
    server asks for one) is set by the DBA, never by the project. -#}
{% macro create_reporting_role() -%}
    do $$
    begin
        if not exists (select from pg_catalog.pg_roles where rolname = 'reporting') then
            create role reporting login;
        end if;
    end
    $$
{%- endmacro %}

{% macro grant_reporting_schemas() -%}
    {%- for schema_name in var("reporting_schemas") %}
    create schema if not exists {{ schema_name }};
    grant usage on schema {{ schema_name }} to reporting;
    {%- endfor %}
{%- endmacro %}
