-- one row per measure value of a session (session x measure x goal; a goal-level measure has its goal_id and goal_uid), as given (never rounded), with its session's context and order_key; a measure rated in the session (attended_only in the catalogue) only when the session was attended
with

catalogue as (
    select measure, attended_only from measure_catalogue
),

observations as (
    select o.*
    from int_observations as o
    left join catalogue as c on c.measure = o.measure
    where o.attended or not coalesce(c.attended_only, true)
)

select
    session_id,
    child_id,
    measure,
    goal_id,
    goal_uid,
    value,
    trials_correct,
    trials_total,
    session_date,
    order_key,
    week_start,
    month_start,
    approach,
    modality,
    therapist_id,
    team,
    age_group
from observations
