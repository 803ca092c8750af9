-- grain: one row per event date (operator's local date) and service: mediated = rated + rating errors
with

config as (
    select * from {{ ref('rating_config') }}
),

mediated as (
    select
        (usage.start_time at time zone config.timezone)::date as event_date,
        usage.service,
        count(*) as mediated_events
    from {{ ref('mediated_usage') }} as usage
    cross join config
    group by 1, 2
),

rating_outcomes as (
    select
        local_date as event_date,
        service,
        count(*) filter (where rating_error is null) as rated_events,
        count(*) filter (where rating_error is not null) as rating_errors
    from {{ ref('int_usage_events_rated') }}
    group by 1, 2
)

select
    coalesce(mediated.event_date, rating_outcomes.event_date) as event_date,
    coalesce(mediated.service, rating_outcomes.service) as service,
    coalesce(mediated.mediated_events, 0) as mediated_events,
    coalesce(rating_outcomes.rated_events, 0) as rated_events,
    coalesce(rating_outcomes.rating_errors, 0) as rating_errors,
    coalesce(mediated.mediated_events, 0)
    = coalesce(rating_outcomes.rated_events, 0) + coalesce(rating_outcomes.rating_errors, 0) as is_balanced
from mediated
full outer join rating_outcomes
    on
        mediated.event_date = rating_outcomes.event_date
        and mediated.service = rating_outcomes.service
