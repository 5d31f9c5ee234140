-- one row per child per week: sessions scheduled and attended, mean engagement overall and by approach
with

sessions as (
    select * from int_sessions
)

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
    arg_max(therapist_id, session_date) as therapist_id,
    arg_max(team, session_date) as team,
    arg_max(modality, session_date) as modality,
    arg_max(age_group, session_date) as age_group
from sessions
group by child_id, week_start
