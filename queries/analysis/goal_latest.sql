-- one row per goal (per group when $by names a column) with ratings matching the filters: its latest GAS level and weight (for T-scores at the end of a period)
with

filtered as (
    select
        child_id,
        goal_uid,
        gas_level,
        goal_weight,
        case $by
            when 'modality' then modality
            when 'age_group' then age_group
            when 'team' then team
            when 'therapist_id' then therapist_id
            when 'approach' then approach
        end as grp,
        date_diff('day', date '2000-01-01', session_date) * 4294967296 + cast(hash(session_id) % 4294967296 as bigint) as order_key
    from goal_ratings
    where ($date_from is null or session_date >= $date_from)
        and ($date_to is null or session_date <= $date_to)
        and ($modalities is null or list_contains($modalities, modality))
        and ($age_groups is null or list_contains($age_groups, age_group))
        and ($teams is null or list_contains($teams, team))
        and ($therapists is null or list_contains($therapists, therapist_id))
        and ($approaches is null or list_contains($approaches, approach))
        and ($child_id is null or child_id = $child_id)
)

select
    goal_uid,
    grp,
    any_value(child_id) as child_id,
    arg_max(gas_level, order_key) as last_level,
    arg_max(goal_weight, order_key) as goal_weight
from filtered
group by goal_uid, grp
order by child_id, goal_uid, grp
