-- one row per session (not removed), with child_key (child_keys: the child's integer number, for joins and groupings) and order_key: sessions in date order (a hash of session_id orders a day's sessions), what "latest" means in every query; its measures are in observations
with

sessions as (
    select * from int_sessions
),

keys as (
    select child_id, child_key from child_keys
)

select
    s.session_id,
    s.child_id,
    k.child_key,
    s.therapist_id,
    s.team,
    s.session_date,
    s.start_time,
    s.week_start,
    s.month_start,
    s.order_key,
    s.modality,
    s.approach,
    s.attendance,
    s.attended,
    s.cancelled,
    s.late_cancelled,
    s.no_show,
    s.clinician_cancelled,
    s.duration_min,
    s.setting,
    s.age_years,
    s.age_group,
    s.source,
    s.goals_rated
from sessions as s
left join keys as k on k.child_id = s.child_id
