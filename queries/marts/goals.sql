-- one row per goal (child x goal) of a known child: its domain and weight (1 when not given), and what the goals source says of it (text, GAS level descriptions, baseline, target, mastery criterion and its percent and consecutive sessions, measure, dates); a goal seen only in observations appears with its id and measure; a goal of a child without sessions or an episode is in unlinked_rows instead
with

children_known as (
    select child_id from children
),

ranked as (
    -- each source keeps its own row of a goal (src_goals is keyed by goal and source): the goals source first,
    -- then the newest export, so a session export's domain and weight never wipe the goal's text and levels
    select
        *,
        row_number() over (
            partition by goal_uid order by source = 'goals' desc, export_order desc, load_seq desc
        ) as rank_in_goal
    from src_goals
    where child_id in (select child_id from children_known)
),

known as (
    select
        goal_uid,
        any_value(child_id) as child_id,
        any_value(goal_id) as goal_id,
        arg_min(goal_text, rank_in_goal) filter (where goal_text is not null) as goal_text,
        arg_min(goal_domain, rank_in_goal) filter (where goal_domain is not null) as goal_domain,
        arg_min(level_m3, rank_in_goal) filter (where level_m3 is not null) as level_m3,
        arg_min(level_m2, rank_in_goal) filter (where level_m2 is not null) as level_m2,
        arg_min(level_m1, rank_in_goal) filter (where level_m1 is not null) as level_m1,
        arg_min(level_0, rank_in_goal) filter (where level_0 is not null) as level_0,
        arg_min(level_p1, rank_in_goal) filter (where level_p1 is not null) as level_p1,
        arg_min(level_p2, rank_in_goal) filter (where level_p2 is not null) as level_p2,
        arg_min(baseline, rank_in_goal) filter (where baseline is not null) as baseline,
        arg_min(target, rank_in_goal) filter (where target is not null) as target,
        arg_min(mastery_criterion, rank_in_goal) filter (where mastery_criterion is not null) as mastery_criterion,
        arg_min(measure, rank_in_goal) filter (where measure is not null) as measure,
        arg_min(goal_weight, rank_in_goal) filter (where goal_weight is not null) as goal_weight,
        arg_min(start_date, rank_in_goal) filter (where start_date is not null) as start_date,
        arg_min(met_date, rank_in_goal) filter (where met_date is not null) as met_date,
        arg_min(discontinued_date, rank_in_goal) filter (where discontinued_date is not null) as discontinued_date
    from ranked
    group by goal_uid
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
