-- one row per session, with order_key: sessions in date order (a hash of session_id orders a day's sessions), what "latest" means in every query
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
    order_key,
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
