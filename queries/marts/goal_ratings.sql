-- one row per goal rating (a GAS level of one goal in one session), with its child's child_key, its goal's goal_key (goal_keys), domain and weight and its session's context and order_key
with

ratings as (
    select * from observations
    where measure = 'gas'
),

goal_attributes as (
    select goal_uid, goal_domain, goal_weight from goals
),

keys as (
    select goal_uid, goal_key from goal_keys
)

select
    r.session_id,
    r.child_id,
    r.child_key,
    r.goal_uid,
    k.goal_key,
    r.goal_id,
    g.goal_domain,
    cast(r.value as tinyint) as gas_level,
    coalesce(g.goal_weight, 1.0) as goal_weight,
    r.value >= 0 as at_or_above_expected,
    r.session_date,
    r.week_start,
    r.month_start,
    r.order_key,
    r.therapist_id,
    r.team,
    r.modality,
    r.approach,
    r.age_group
from ratings as r
left join goal_attributes as g on g.goal_uid = r.goal_uid
left join keys as k on k.goal_uid = r.goal_uid
