-- every mediated event is either rated or in rating suspense, per local day and service
select * from {{ ref('rating_reconciliation') }}
where not is_balanced
