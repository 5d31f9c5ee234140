-- one row per session that is not removed: its newest export's attributes (src_sessions; an appointment's approach and setting from its linked session data, its modality from its linked charges when it has none of its own), its age at the session date (from its own date of birth, else the child's, else the exported age) and age group, its rated goals, and order_key (session date, then a hash of session_id: the order "latest" means)
with

links as (
    select session_ref, session_id from int_session_links
    where session_id is not null
),

session_data as (
    -- what the linked session data says of its session: the newest export's that says it
    select
        l.session_id,
        arg_max(d.approach, (d.export_order, d.load_seq, d.line)) filter (where d.approach is not null) as data_approach,
        arg_max(d.setting, (d.export_order, d.load_seq, d.line)) filter (where d.setting is not null) as data_setting,
        arg_max(d.therapist_id, (d.export_order, d.load_seq, d.line)) filter (where d.therapist_id is not null)
            as data_therapist_id
    from src_session_data as d
    inner join links as l using (session_ref)
    group by l.session_id
),

charges as (
    -- the modality of a session's billed codes (the newest charge line)
    select l.session_id, arg_max(c.modality, (c.export_order, c.load_seq, c.line)) as charge_modality
    from src_charges as c
    inner join links as l using (session_ref)
    group by l.session_id
),

sessions as (
    select
        s.* exclude (approach, setting, modality, therapist_id),
        coalesce(s.approach, d.data_approach) as approach,
        coalesce(s.setting, d.data_setting) as setting,
        coalesce(s.modality, c.charge_modality) as modality,
        coalesce(s.therapist_id, d.data_therapist_id) as therapist_id
    from src_sessions as s
    left join session_data as d using (session_id)
    left join charges as c using (session_id)
    where not s.removed
),

child_births as (
    -- each child's date of birth: the newest export's that gives one (any source)
    select child_id, date_of_birth as child_date_of_birth
    from src_children
    where date_of_birth is not null
    qualify row_number() over (partition by child_id order by export_order desc, load_seq desc, line desc) = 1
),

goal_counts as (
    select session_id, count(*) as goals_rated
    from int_linked_observations
    where measure = 'gas'
    group by session_id
),

ages as (
    select
        s.* exclude (age_years),
        coalesce(
            cast(datepart('year', age(s.session_date, coalesce(s.date_of_birth, b.child_date_of_birth))) as integer),
            s.age_years
        ) as age_years,
        coalesce(g.goals_rated, 0) as goals_rated
    from sessions as s
    left join child_births as b using (child_id)
    left join goal_counts as g using (session_id)
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
    a.start_time,
    cast(date_trunc('week', a.session_date) as date) as week_start,
    cast(date_trunc('month', a.session_date) as date) as month_start,
    date_diff('day', date '2000-01-01', a.session_date) * 4294967296
        + cast(hash(a.session_id) % 4294967296 as bigint) as order_key,
    a.modality,
    a.approach,
    a.attendance,
    a.attendance = 'attended' as attended,
    a.attendance in ('cancelled', 'late-cancelled', 'clinician-cancelled') as cancelled,
    a.attendance = 'late-cancelled' as late_cancelled,
    a.attendance = 'no-show' as no_show,
    a.attendance = 'clinician-cancelled' as clinician_cancelled,
    a.duration_min,
    a.setting,
    a.age_years,
    coalesce(g.label, 'unknown') as age_group,
    a.source,
    a.goals_rated
from ages as a
left join age_groups as g
    on a.age_years between g.low and g.high
