-- one row per session (not removed), with order_key: sessions in date order (a hash of session_id orders a day's sessions), what "latest" means in every query; its measures are in observations
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
    start_time,
    week_start,
    month_start,
    order_key,
    modality,
    approach,
    attendance,
    attended,
    cancelled,
    late_cancelled,
    no_show,
    clinician_cancelled,
    duration_min,
    setting,
    age_years,
    age_group,
    source,
    goals_rated
from sessions
