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
),

newest as (
    select *
    from resolved
    where session_id is not null
    qualify row_number() over (partition by session_id, measure, goal_key
                               order by export_order desc, load_seq desc, line desc) = 1
)

select session_id, measure, goal_key, value, trials_correct, trials_total, source, file_id, line
from newest
where value is not null
