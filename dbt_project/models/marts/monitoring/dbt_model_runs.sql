-- grain: one row per dbt node and invocation: how long each model, test, seed or snapshot took.
select
    invocation_id,
    unique_id,
    node_name,
    resource_type,
    command,
    generated_at,
    status,
    execution_time_s,
    rows_affected,
    failures,
    message
from {{ ref('stg_pipeline__dbt_run_results') }}
