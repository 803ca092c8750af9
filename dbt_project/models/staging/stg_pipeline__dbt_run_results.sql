-- grain: one row per dbt node and invocation
with

source as (
    select * from {{ source('pipeline', 'dbt_run_results') }}
),

renamed as (
    select
        invocation_id,
        unique_id,
        split_part(unique_id, '.', 3) as node_name,
        resource_type,
        command,
        generated_at,
        status,
        execution_time_s,
        rows_affected,
        failures,
        message
    from source
)

select * from renamed
