-- grain: one row per expectation and validation
with

source as (
    select * from {{ source('pipeline', 'quality_check_results') }}
),

renamed as (
    select
        validation_id,
        expectation_index,
        suite_name,
        validated_at,
        expectation_type,
        column_name,
        success,
        observed_value,
        unexpected_count
    from source
)

select * from renamed
