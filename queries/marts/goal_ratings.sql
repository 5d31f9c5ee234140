-- one row per goal rating (one goal rated in one session), with its session's context and order_key
with

ratings as (
    select * from int_goal_ratings
)

select
    session_id,
    child_id,
    goal_uid,
    goal_id,
    goal_domain,
    gas_level,
    goal_weight,
    gas_level >= 0 as at_or_above_expected,
    session_date,
    week_start,
    month_start,
    order_key,
    therapist_id,
    team,
    modality,
    approach,
    age_group
from ratings
