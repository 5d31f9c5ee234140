-- one row per child with a session on or before $as_of: the figures behind the needs-attention flags (attendance window, drop-out, rating gap, the discharge of its latest episode of care), relative to $as_of
with

upto as (
    select *
    from sessions
    where session_date <= $as_of
),

ratings as (
    select child_id, goal_uid, session_date, session_id, gas_level, order_key
    from goal_ratings
    where session_date <= $as_of
),

goal_latest as (
    select child_id, goal_uid, arg_max(gas_level, order_key) as latest_level
    from ratings
    group by child_id, goal_uid
),

child_goals as (
    select
        child_id,
        count(*) as n_goals,
        count(*) filter (where latest_level >= $expected_level) as n_goals_met
    from goal_latest
    group by child_id
),

child_ratings as (
    select child_id, max(session_date) as last_rating
    from ratings
    group by child_id
),

caseload as (
    select
        child_id,
        arg_max(therapist_id, order_key) as therapist_id,
        arg_max(team, order_key) as team,
        arg_max(modality, order_key) as modality,
        arg_max(age_group, order_key) as age_group,
        min(session_date) as first_session,
        max(session_date) as last_session,
        min(session_date) filter (where attended) as first_attended,
        max(session_date) filter (where attended) as last_attended,
        count(*) filter (where session_date > $as_of - cast($attendance_days as integer)) as window_scheduled,
        count(*) filter (where attended and session_date > $as_of - cast($attendance_days as integer)) as window_attended,
        count(*) filter (where cancelled and session_date > $as_of - cast($attendance_days as integer)) as window_cancelled,
        count(*) filter (where no_show and session_date > $as_of - cast($attendance_days as integer)) as window_no_show,
        count(*) filter (where attended and session_date > $as_of - cast($dropout_days as integer)) as attended_recent,
        count(*) filter (where not attended and session_date > $as_of - cast($dropout_days as integer)) as missed_recent,
        count(*) filter (
            where attended
                and session_date <= $as_of - cast($dropout_days as integer)
                and session_date > $as_of - cast($dropout_days as integer) - cast($active_days as integer)
        ) as attended_before_gap
    from upto
    group by child_id
),

since_rating as (
    select
        u.child_id,
        count(*) filter (where u.attended and (r.last_rating is null or u.session_date > r.last_rating)) as attended_since_rating
    from upto as u
    left join child_ratings as r using (child_id)
    group by u.child_id
)

select
    c.child_id,
    c.therapist_id,
    c.team,
    c.modality,
    c.age_group,
    c.first_session,
    c.last_session,
    c.first_attended,
    c.last_attended,
    date_diff('day', c.last_session, $as_of) as days_since_session,
    date_diff('day', c.last_attended, $as_of) as days_since_attended,
    c.window_scheduled,
    c.window_attended,
    c.window_cancelled,
    c.window_no_show,
    c.window_attended / nullif(c.window_scheduled, 0) as window_attendance_rate,
    c.attended_recent,
    c.missed_recent,
    c.attended_before_gap,
    coalesce(g.n_goals, 0) as n_goals,
    coalesce(g.n_goals_met, 0) as n_goals_met,
    r.last_rating,
    date_diff('day', coalesce(r.last_rating, c.first_attended), $as_of) as days_since_rating,
    s.attended_since_rating,
    e.discharge_date,
    e.discharge_kind
from caseload as c
left join child_goals as g using (child_id)
left join child_ratings as r using (child_id)
left join since_rating as s using (child_id)
left join children as e using (child_id)
order by c.child_id
