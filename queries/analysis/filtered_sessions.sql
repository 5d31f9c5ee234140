-- one row per session matching the filters (dates, modality, age group, team, therapist, approach; $child_id = one child)
with

base as (
    select * from sessions
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
    session_id,
    child_id,
    session_date,
    week_start,
    month_start,
    approach,
    attendance,
    attended,
    cancelled,
    no_show,
    engagement,
    modality,
    therapist_id,
    team,
    age_group,
    age_years,
    setting,
    duration_min,
    goals_rated
from filtered
order by child_id, session_date, session_id
