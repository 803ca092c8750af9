-- grain: one row per landed raw message with its single mediation outcome:
-- accepted (a whole record, or a part of a complete chain), rejected, duplicate or pending (a part of
-- an open chain). A view: only chains need state, and int_partial_record_chains keeps it.
{{ config(materialized='view') }}
select
    validated.*,
    chains.chain_state,
    case
        when validated.is_duplicate then 'duplicate'
        when cardinality(validated.reason_codes) > 0 then 'rejected'
        when not validated.is_partial then 'accepted'
        when chains.chain_state = 'complete' then 'accepted'
        when chains.chain_state = 'incomplete' then 'rejected'
        else 'pending'
    end as outcome,
    case
        when chains.chain_state = 'incomplete' then array['INCOMPLETE']
        else validated.reason_codes
    end as final_reason_codes
from {{ ref('int_usage_records_validated') }} as validated
left join {{ ref('int_partial_record_chains') }} as chains
    on
        validated.is_valid
        and validated.is_partial
        and validated.correlation_key = chains.correlation_key
