-- one row per measure value with its session resolved (session x measure x goal_key): a sessions-source value under its own session, a session-data value under the session it links to (int_session_links); where several rows give the same session's measure, the newest export's stays, and a null (an emptied cell) clears it
with

links as (
    select session_ref, session_id from int_session_links
    where session_id is not null
),

resolved as (
    select
        case when o.source = 'sessions' then o.session_ref else l.session_id end as session_id,
        o.*
    from src_observations as o
    left join links as l on l.session_ref = o.session_ref and o.source <> 'sessions'
    where o.source = 'sessions' or l.session_id is not null
),

contested as (
    -- the keys a linked (session-data) row resolves to: only there can two rows give the same key (the raw
    -- table's key is session_ref x measure x goal_key, and a sessions-source row's session_ref is its session);
    -- none without session data
    select distinct session_id, measure, goal_key
    from resolved
    where source <> 'sessions'
),

newest as (
    select *
    from resolved as r
    where not exists (select 1 from contested as c
                      where c.session_id = r.session_id and c.measure = r.measure and c.goal_key = r.goal_key)
    union all
    select *
    from resolved as r
    semi join contested as c using (session_id, measure, goal_key)
    qualify row_number() over (partition by session_id, measure, goal_key
                               order by export_order desc, load_seq desc, line desc) = 1
)

select session_id, measure, goal_key, value, trials_correct, trials_total, source, file_id, line
from newest
where value is not null
