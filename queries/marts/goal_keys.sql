-- one row per goal of the goals mart: goal_key, the goal's integer number (a dense rank of goal_uid in text order on a whole build; an incremental build keeps every number and numbers new goals after them), what goal_ratings carries for the queries' per-goal groupings; never shown, exported or stored outside the marts (a goal is its goal_uid there)
with

ids as (
    select goal_uid from goals
)

select
    goal_uid,
    cast(dense_rank() over (order by goal_uid) as integer) as goal_key
from ids
