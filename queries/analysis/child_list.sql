-- one row per child with a session matching the filters (child filter ignored: the query lists the children): latest modality, therapist, team and age group there, session counts, attendance, and the values of the session-level measure $measure (a catalogue id, default engagement)
with

-- the measure's values of the filtered sessions, per child (the observations mart carries each session's date and
-- filter columns: filtered the same way, grouped per child, joined to the children's sessions: no row-level join)
child_values as (
    select
        child_key,
        count(value) as n_values,
        avg(value) as mean_value
    from filtered_rows(
        'observations',
        date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
        teams := $teams, therapists := $therapists, approaches := $approaches, child := null
    )
    where measure = coalesce($measure, 'engagement') and goal_id is null
    group by child_key
),

child_sessions as (
    select
        child_key,
        any_value(child_id) as child_id,
        arg_max(modality, order_key) as modality,
        arg_max(therapist_id, order_key) as therapist_id,
        arg_max(team, order_key) as team,
        arg_max(age_group, order_key) as age_group,
        count(*) as sessions,
        count(*) filter (where attended) as attended,
        count(*) filter (where cancelled) as cancelled,
        count(*) filter (where no_show) as no_show,
        min(session_date) as first_session,
        max(session_date) as last_session,
        max(session_date) filter (where attended) as last_attended
    from filtered_rows(
        'sessions',
        date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
        teams := $teams, therapists := $therapists, approaches := $approaches, child := null
    )
    group by child_key
),

children as (
    select s.*, coalesce(v.n_values, 0) as n_values, v.mean_value
    from child_sessions as s
    left join child_values as v on v.child_key = s.child_key
)

select
    child_id,
    modality,
    therapist_id,
    team,
    age_group,
    sessions,
    attended,
    cancelled,
    no_show,
    attended / sessions as attendance_rate,
    n_values,
    mean_value,
    first_session,
    last_session,
    last_attended
from children
order by child_id
