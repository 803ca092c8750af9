{#-
    Tables under an enforced contract are built with `create table as`.

    dbt-postgres builds such a table as `create table (columns)` followed by `insert ... select`, and
    PostgreSQL never runs the select of an INSERT in parallel workers; `create table as` may. A contract
    without constraints (every contract of this project) asks only for the column names and types, and
    get_assert_columns_equivalent checks those against the query before the table is built: a mismatch
    still fails the run. That check ignores a numeric's precision and scale, which the insert applied;
    so each column is cast to its contract type here (numeric(18, 6) money is rounded as before), in the
    contract's order. A contract with constraints keeps dbt-postgres' own statement.
-#}
{% macro postgres__create_table_as(temporary, relation, sql) -%}
    {%- set contract_config = config.get('contract') -%}
    {%- set column_constraints = model['columns'].values() | map(attribute='constraints') | select | list -%}
    {%- if contract_config.enforced and not temporary and not model.get('constraints') and not column_constraints -%}
        {%- set sql_header = config.get('sql_header', none) -%}
        {{ sql_header if sql_header is not none }}
        {{ get_assert_columns_equivalent(sql) }}
        create {% if config.get('unlogged', default=false) %}unlogged {% endif %}table {{ relation }} as
        select
        {%- for column in model['columns'].values() %}
            {%- set name = adapter.quote(column['name']) if column.get('quote') else column['name'] %}
            model_subq.{{ name }}::{{ column['data_type'] }} as {{ name }}{{ "," if not loop.last }}
        {%- endfor %}
        from (
            {{ sql }}
        ) as model_subq;
    {%- else -%}
        {{ dbt.postgres__create_table_as(temporary, relation, sql) }}
    {%- endif %}
{%- endmacro %}
