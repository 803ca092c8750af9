-- fails (returns rows) if any batch/day/source does not balance, or if mediation saw a different number
-- of records for a batch than the loader's audit says it committed
select *
from {{ ref('mediation_reconciliation') }}
where not is_balanced or landed <> audited_records
