-- one row per goal rating in a session matching the filters (dates, modality, age group, team, therapist, approach; $child_id = one child)
with

base as (
    select * from goal_ratings
),

filtered as (
    select *
    from base
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
