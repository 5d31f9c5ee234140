-- one row per session: its attributes from its most recently loaded export row, age group at the session date
with

latest_versions as (
    -- per session: which exported row is the most recent (load order, then line)
    select
        session_id,
        max(load_seq * 100000000 + line) as latest_key,
        max(date_of_birth) as date_of_birth,
        count(goal_id) as goals_rated
    from session_rows
    group by session_id
),

sessions as (
    select
        r.session_id, r.child_id, r.therapist_id, r.team, r.session_date, r.modality, r.approach,
        r.attendance, r.duration_min, r.setting, r.engagement, r.age_years,
        v.date_of_birth, v.goals_rated
    from session_rows as r
    inner join latest_versions as v
        on v.session_id = r.session_id and v.latest_key = r.load_seq * 100000000 + r.line
),

ages as (
    select
        * exclude (age_years),
        coalesce(
            cast(datepart('year', age(session_date, date_of_birth)) as integer),
            age_years
        ) as age_years
    from sessions
),

age_groups as (
    select label, low, high from age_group_bands
)

select
    a.session_id,
    a.child_id,
    a.therapist_id,
    coalesce(a.team, 'unassigned') as team,
    a.session_date,
    cast(date_trunc('week', a.session_date) as date) as week_start,
    cast(date_trunc('month', a.session_date) as date) as month_start,
    a.modality,
    a.approach,
    a.attendance,
    a.attendance = 'attended' as attended,
    a.attendance in ('cancelled', 'late-cancelled', 'clinician-cancelled') as cancelled,
    a.attendance = 'no-show' as no_show,
    a.duration_min,
    a.setting,
    case when a.attendance = 'attended' then a.engagement end as engagement,
    a.age_years,
    coalesce(g.label, 'unknown') as age_group,
    a.goals_rated
from ages as a
left join age_groups as g
    on a.age_years between g.low and g.high
