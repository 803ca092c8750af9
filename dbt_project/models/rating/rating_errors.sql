-- grain: one row per mediated event that could not be rated (rating suspense), with its error code
select
    rated.usage_id,
    rated.rating_error as error_code,
    codes.description as error_description,
    rated.service,
    rated.direction,
    rated.served_msisdn,
    rated.other_party_msisdn,
    rated.start_time,
    rated.subscription_id,
    rated.plan_id,
    rated.serving_mcc,
    rated.zone,
    rated.time_band,
    rated.mediated_batch_id,
    rated.rated_at
from {{ ref('int_usage_events_rated') }} as rated
left join {{ ref('rating_error_codes') }} as codes on rated.rating_error = codes.error_code
where rated.rating_error is not null
