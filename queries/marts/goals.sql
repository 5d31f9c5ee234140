-- one row per goal (child x goal) of a known child: its domain and weight (1 when not given), and what the goals source says of it (text, GAS level descriptions, baseline, target, mastery criterion and its percent and consecutive sessions, measure, dates); a goal seen only in observations appears with its id and measure; a goal of a child without sessions or an episode is in unlinked_rows instead
with

children_known as (
    select child_id from children
),

known as (
    select * from src_goals
    where child_id in (select child_id from children_known)
),

observed as (
    select goal_uid, any_value(child_id) as child_id, any_value(goal_id) as goal_id, min(measure) as measure
    from observations
    where goal_uid is not null
    group by goal_uid
)

select
    coalesce(k.goal_uid, o.goal_uid) as goal_uid,
    coalesce(k.child_id, o.child_id) as child_id,
    coalesce(k.goal_id, o.goal_id) as goal_id,
    k.goal_text,
    k.goal_domain,
    k.level_m3,
    k.level_m2,
    k.level_m1,
    k.level_0,
    k.level_p1,
    k.level_p2,
    k.baseline,
    k.target,
    k.mastery_criterion,
    try_cast(regexp_extract(k.mastery_criterion, '(\d+(\.\d+)?)\s*%', 1) as double) as mastery_percent,
    try_cast(regexp_extract(lower(k.mastery_criterion), '(\d+)\s+(consecutive\s+)?(sessions?|days?|probes?)', 1) as integer)
        as mastery_sessions,
    coalesce(k.measure, o.measure) as measure,
    coalesce(k.goal_weight, 1.0) as goal_weight,
    k.start_date,
    k.met_date,
    k.discontinued_date
from known as k
full outer join observed as o on o.goal_uid = k.goal_uid
