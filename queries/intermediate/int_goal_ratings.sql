-- one row per goal rating (session x goal with a GAS level), with the session's context
with

ratings as (
    select session_id, goal_id, goal_domain, gas_level, goal_weight
    from session_rows
    where goal_id is not null and gas_level is not null
),

session_context as (
    select * from sessions
)

select
    r.session_id,
    s.child_id,
    s.child_id || '/' || r.goal_id as goal_uid,
    r.goal_id,
    r.goal_domain,
    r.gas_level,
    r.goal_weight,
    s.session_date,
    s.week_start,
    s.month_start,
    s.order_key,
    s.therapist_id,
    s.team,
    s.modality,
    s.approach,
    s.age_group
from ratings as r
inner join session_context as s on s.session_id = r.session_id
