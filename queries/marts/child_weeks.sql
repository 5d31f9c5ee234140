-- one row per child per week: sessions scheduled and attended, mean engagement overall and by approach
with

session_facts as (
    select * from sessions
),

weeks as (
    select
        child_id,
        week_start,
        count(*) as sessions_scheduled,
        count(*) filter (where attended) as sessions_attended,
        count(*) filter (where cancelled) as sessions_cancelled,
        count(*) filter (where no_show) as sessions_no_show,
        count(engagement) as sessions_rated,
        avg(engagement) as mean_engagement,
        avg(engagement) filter (where approach = 'child-led') as mean_engagement_child_led,
        avg(engagement) filter (where approach = 'directed') as mean_engagement_directed,
        avg(engagement) filter (where approach = 'mixed') as mean_engagement_mixed,
        count(engagement) filter (where approach = 'child-led') as rated_child_led,
        count(engagement) filter (where approach = 'directed') as rated_directed,
        count(engagement) filter (where approach = 'mixed') as rated_mixed,
        arg_max(
            {'therapist_id': therapist_id, 'team': team, 'modality': modality, 'age_group': age_group},
            session_date
        ) as latest
    from session_facts
    group by child_id, week_start
)

select * exclude (latest), unnest(latest)
from weeks
