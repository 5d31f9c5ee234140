-- one row per session reference of the session data and the charges (session_ref): the session it links to (by the appointment id; else the child's one non-removed appointment that day, at the time when one is given), or why it links to none (no appointment, several, removed, another child's); recomputed at every build, so an appointment loaded later links the rows that waited for it
with

refs as (
    select
        session_ref,
        any_value(session_id) as session_id,
        any_value(child_id) as child_id,
        any_value(session_date) as session_date,
        any_value(start_time) as start_time
    from (
        select session_ref, session_id, child_id, session_date, start_time from src_session_data
        union all
        select session_ref, session_id, child_id, session_date, null::time as start_time from src_charges
    ) as r
    group by session_ref
),

appointments as (
    select session_id, child_id, session_date, start_time, removed from src_sessions
),

by_id as (
    -- references that name their appointment
    select r.session_ref, a.session_id as found_id, a.child_id as found_child, a.removed
    from refs as r
    inner join appointments as a on a.session_id = r.session_id
    where r.session_id is not null
),

candidates as (
    -- references without an id: the child's non-removed appointments that day (at the time given, when
    -- the appointment has a time; an exact time match wins over appointments without a time)
    select
        r.session_ref,
        a.session_id,
        a.start_time,
        r.start_time is not null and a.start_time = r.start_time as exact
    from refs as r
    inner join appointments as a
        on a.child_id = r.child_id and a.session_date = r.session_date and not a.removed
        and (r.start_time is null or a.start_time is null or a.start_time = r.start_time)
    where r.session_id is null
),

best as (
    select *
    from candidates
    qualify exact or not bool_or(exact) over (partition by session_ref)
),

removed_that_day as (
    -- references without an id whose child had an appointment that day that a later export removed
    select r.session_ref, string_agg(a.session_id, ', ' order by a.session_id) as removed_ids
    from refs as r
    inner join appointments as a on a.child_id = r.child_id and a.session_date = r.session_date and a.removed
    where r.session_id is null
    group by r.session_ref
),

by_day as (
    select
        session_ref,
        count(*) as n,
        min(session_id) as only_id,
        string_agg(session_id || coalesce(' ' || left(cast(start_time as varchar), 5), ''), ', '
            order by start_time nulls last, session_id) as listed
    from best
    group by session_ref
)

select
    r.session_ref,
    r.child_id,
    r.session_date,
    r.start_time,
    case
        when r.session_id is not null then
            case when i.found_id is not null and not i.removed and i.found_child = r.child_id then i.found_id end
        when d.n = 1 then d.only_id
    end as session_id,
    case
        when r.session_id is not null and i.found_id is null then
            'no appointment ' || r.session_id || ' (the appointment id given)'
        when r.session_id is not null and i.removed then
            'appointment ' || r.session_id || ' was removed in a later export'
        when r.session_id is not null and i.found_child <> r.child_id then
            'appointment ' || r.session_id || ' is of child ' || i.found_child || ', not ' || r.child_id
        when r.session_id is null and d.n is null and x.removed_ids is not null then
            'the appointment for ' || r.child_id || ' on ' || strftime(r.session_date, '%Y-%m-%d') || ' ('
                || x.removed_ids || ') was removed in a later export'
        when r.session_id is null and d.n is null then
            'no appointment for ' || r.child_id || ' on ' || strftime(r.session_date, '%Y-%m-%d')
                || coalesce(' at ' || left(cast(r.start_time as varchar), 5), '')
        when r.session_id is null and d.n > 1 then
            d.n || ' appointments for ' || r.child_id || ' on ' || strftime(r.session_date, '%Y-%m-%d')
                || ' (' || d.listed || '): add the appointment id or the time'
    end as reason
from refs as r
left join by_id as i on i.session_ref = r.session_ref
left join by_day as d on d.session_ref = r.session_ref
left join removed_that_day as x on x.session_ref = r.session_ref
