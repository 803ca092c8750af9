-- grain: one row per Great Expectations expectation and validation: the data-quality history.
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
from {{ ref('stg_pipeline__quality_check_results') }}
