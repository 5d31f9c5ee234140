-- one row per child id of the raw tables: child_key, the child's integer number (a dense rank of child_id in text order; an incremental build renumbers the marts' rows whose number it changes, pipelines/incremental.py), what the row-level marts join and group on; never shown, exported or stored outside the marts (a child is its child_id there)
with

ids as (
    select child_id from src_sessions where child_id is not null
    union
    select child_id from src_children where child_id is not null
    union
    select child_id from src_goals where child_id is not null
    union
    select child_id from src_observations where child_id is not null
)

select
    child_id,
    cast(dense_rank() over (order by child_id) as integer) as child_key
from ids
