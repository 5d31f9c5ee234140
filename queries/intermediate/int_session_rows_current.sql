-- one row per (session_id, goal_key): the most recently loaded version of each exported row
with

ranked as (
    select
        *,
        row_number() over (
            partition by session_id, goal_key
            order by load_seq desc, line desc
        ) as version_rank
    from session_rows
)

select * exclude (version_rank)
from ranked
where version_rank = 1
