-- one row per goal rating in a session matching the filters (dates, modality, age group, team, therapist, approach; $child_id = one child)
with

filtered as (
    select *
    from filtered_rows(
        'goal_ratings',
        date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
        teams := $teams, therapists := $therapists, approaches := $approaches, child := $child_id
    )
)

select
    goal_uid,
    goal_id,
    child_id,
    goal_domain,
    session_id,
    session_date,
    gas_level,
    goal_weight,
    gas_level >= $expected_level as at_or_above_expected,
    approach,
    modality,
    therapist_id,
    team,
    age_group
from filtered
order by child_id, goal_id, session_date, session_id
