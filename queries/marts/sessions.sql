-- one row per session
with

sessions as (
    select * from int_sessions
)

select
    session_id,
    child_id,
    therapist_id,
    team,
    session_date,
    week_start,
    month_start,
    modality,
    approach,
    attendance,
    attended,
    cancelled,
    no_show,
    duration_min,
    setting,
    engagement,
    age_years,
    age_group,
    goals_rated
from sessions
