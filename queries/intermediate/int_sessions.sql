-- one row per session: session attributes from its most recently loaded export, age group at the session date
with

current_rows as (
    select * from int_session_rows_current
),

sessions as (
    select
        session_id,
        arg_max(child_id, load_seq * 100000000 + line) as child_id,
        arg_max(therapist_id, load_seq * 100000000 + line) as therapist_id,
        arg_max(team, load_seq * 100000000 + line) as team,
        arg_max(session_date, load_seq * 100000000 + line) as session_date,
        arg_max(modality, load_seq * 100000000 + line) as modality,
        arg_max(approach, load_seq * 100000000 + line) as approach,
        arg_max(attendance, load_seq * 100000000 + line) as attendance,
        arg_max(duration_min, load_seq * 100000000 + line) as duration_min,
        arg_max(setting, load_seq * 100000000 + line) as setting,
        arg_max(engagement, load_seq * 100000000 + line) as engagement,
        max(date_of_birth) as date_of_birth,
        arg_max(age_years, load_seq * 100000000 + line) as age_years_given,
        count(goal_id) as goals_rated,
        max(load_seq) as load_seq
    from current_rows
    group by session_id
),

ages as (
    select
        *,
        coalesce(
            cast(datepart('year', age(session_date, date_of_birth)) as integer),
            age_years_given
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
    a.goals_rated,
    a.load_seq
from ages as a
left join age_groups as g
    on a.age_years between g.low and g.high
