-- one row per goal (per group when $by names a column) with ratings matching the filters: its latest GAS level and weight (for T-scores at the end of a period)
with

filtered as (
    select
        child_id,
        goal_uid,
        gas_level,
        goal_weight,
        group_value($by, modality, age_group, team, therapist_id, approach) as grp,
        order_key
    from filtered_rows(
        'goal_ratings',
        date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
        teams := $teams, therapists := $therapists, approaches := $approaches, child := $child_id
    )
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
