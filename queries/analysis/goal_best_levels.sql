-- one row per goal with ratings matching the filters: its best GAS level (the best_level of goal_summary, without the rest of its figures)
select
    goal_uid,
    max(gas_level) as best_level
from filtered_rows(
    'goal_ratings',
    date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
    teams := $teams, therapists := $therapists, approaches := $approaches, child := $child_id
)
group by goal_uid
order by goal_uid
