-- one row per measure value of a session (session x measure x goal; a goal-level measure has its goal_id and goal_uid; child_key: child_keys' integer number of the child), as given (never rounded), with its session's context and order_key; a measure rated in the session (attended_only in the catalogue) only when the session was attended
with

catalogue as (
    select measure, attended_only from measure_catalogue
),

observations as (
    select o.*
    from int_observations as o
    left join catalogue as c on c.measure = o.measure
    where o.attended or not coalesce(c.attended_only, true)
),

keys as (
    select child_id, child_key from child_keys
)

select
    o.session_id,
    o.child_id,
    k.child_key,
    o.measure,
    o.goal_id,
    o.goal_uid,
    o.value,
    o.trials_correct,
    o.trials_total,
    o.session_date,
    o.order_key,
    o.week_start,
    o.month_start,
    o.approach,
    o.modality,
    o.therapist_id,
    o.team,
    o.age_group
from observations as o
left join keys as k on k.child_id = o.child_id
