-- one row per session: its attributes from its newest export's row (export order, then load order, then line), age group at the session date, order_key (session date, then a hash of session_id: the order "latest" means)
with

versions as (
    -- per session: its exported rows, the newest export's first
    select
        *,
        row_number() over (
            partition by session_id order by export_order desc, load_seq desc, line desc
        ) as version_rank,
        max(date_of_birth) over (partition by session_id) as session_date_of_birth,
        count(goal_id) over (partition by session_id) as session_goals_rated
    from session_rows
),

sessions as (
    select
        session_id, child_id, therapist_id, team, session_date, modality, approach,
        attendance, duration_min, setting, engagement, age_years,
        session_date_of_birth as date_of_birth, session_goals_rated as goals_rated
    from versions
    where version_rank = 1
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
    date_diff('day', date '2000-01-01', a.session_date) * 4294967296
        + cast(hash(a.session_id) % 4294967296 as bigint) as order_key,
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
