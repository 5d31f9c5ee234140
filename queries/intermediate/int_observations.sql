-- one row per observation with a value (session x measure x goal) of a session in the marts (linked: int_linked_observations), with its session's context and whether the session was attended
with

given as (
    select session_id, measure, goal_key, value, trials_correct, trials_total
    from int_linked_observations
),

session_context as (
    select * from sessions
)

select
    g.session_id,
    s.child_id,
    g.measure,
    nullif(g.goal_key, '') as goal_id,
    case when g.goal_key <> '' then s.child_id || '/' || g.goal_key end as goal_uid,
    g.value,
    g.trials_correct,
    g.trials_total,
    s.session_date,
    s.order_key,
    s.week_start,
    s.month_start,
    s.approach,
    s.modality,
    s.therapist_id,
    s.team,
    s.age_group,
    s.attended
from given as g
inner join session_context as s on s.session_id = g.session_id
