-- one row per goal of the goals mart: goal_key, the goal's integer number (its child's child_key times 2^20 plus the goal's rank among the child's goals in goal_uid order: one child's goals number alike on a whole and an incremental build), what goal_ratings carries for the queries' per-goal groupings; never shown, exported or stored outside the marts (a goal is its goal_uid there)
with

goal_ids as (
    select child_id, goal_uid from goals
),

keys as (
    select child_id, child_key from child_keys
)

select
    g.child_id,
    g.goal_uid,
    cast(k.child_key as bigint) * 1048576
        + dense_rank() over (partition by g.child_id order by g.goal_uid) as goal_key
from goal_ids as g
left join keys as k on k.child_id = g.child_id
