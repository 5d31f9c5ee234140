-- one row per loaded row kept but not joined (file x line x reason): session data and charges with no appointment, several, a removed one or another child's; a measure recorded for a session not attended; a goal of a child the warehouse does not know. Recomputed at every build: a file loaded later can link them
with

links as (
    select session_ref, session_id, reason from int_session_links
),

referring as (
    select file_id, line, source, session_ref from src_observations
    where source <> 'sessions' and value is not null
    union
    select file_id, line, source, session_ref from src_session_data
    union
    select file_id, line, source, session_ref from src_charges
),

not_linked as (
    select r.file_id, r.line, r.source, l.reason
    from referring as r
    inner join links as l using (session_ref)
    where l.session_id is null
),

catalogue as (
    select measure, attended_only from measure_catalogue
),

not_attended as (
    select
        o.file_id,
        o.line,
        o.source,
        o.measure || ' recorded for a session that was not attended (' || s.session_id || ' on '
            || strftime(s.session_date, '%Y-%m-%d') || ': ' || s.attendance || ')' as reason
    from src_observations as o
    inner join links as l using (session_ref)
    inner join src_sessions as s on s.session_id = l.session_id
    inner join catalogue as c on c.measure = o.measure
    where o.source <> 'sessions' and o.value is not null and s.attendance <> 'attended' and c.attended_only
),

known_children as (
    select child_id from children
),

unknown_children as (
    select
        g.file_id,
        g.line,
        g.source,
        'goal ' || g.goal_id || ' is for child ' || g.child_id
            || ', who has no appointment, session or episode of care in the warehouse' as reason
    from src_goals as g
    where g.source = 'goals' and g.child_id not in (select child_id from known_children)
),

unlinked as (
    select * from not_linked
    union
    select * from not_attended
    union
    select * from unknown_children
),

file_names as (
    select file_id, original_name from files
)

select
    f.original_name as file,
    u.line,
    u.source,
    u.reason,
    u.file_id
from unlinked as u
inner join file_names as f using (file_id)
order by u.file_id, u.line, u.reason
