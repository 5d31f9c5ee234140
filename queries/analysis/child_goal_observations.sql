-- one row per goal-level observation (goal x measure x session) in a session matching the filters ($child_id = one child): the value as given and, for trial-based goals, trials correct of trials total and the percent correct
with

filtered as (
    select session_id
    from filtered_rows(
        'sessions',
        date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
        teams := $teams, therapists := $therapists, approaches := $approaches, child := $child_id
    )
)

select
    o.goal_uid,
    o.goal_id,
    o.child_id,
    o.measure,
    o.session_id,
    o.session_date,
    o.value,
    o.trials_correct,
    o.trials_total,
    case when o.trials_total > 0 then 100.0 * o.trials_correct / o.trials_total end as percent_correct,
    o.approach
from observations as o
inner join filtered as f using (session_id)
where o.goal_uid is not null
order by o.child_id, o.goal_id, o.measure, o.session_date, o.session_id
