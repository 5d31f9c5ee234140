-- one row per attended session with an engagement rating matching the filters: child, date, engagement (for per-child trends)
with

filtered as (
    select child_id, session_date, engagement
    from sessions
    where engagement is not null
        and ($date_from is null or session_date >= $date_from)
        and ($date_to is null or session_date <= $date_to)
        and ($modalities is null or list_contains($modalities, modality))
        and ($age_groups is null or list_contains($age_groups, age_group))
        and ($teams is null or list_contains($teams, team))
        and ($therapists is null or list_contains($therapists, therapist_id))
        and ($approaches is null or list_contains($approaches, approach))
        and ($child_id is null or child_id = $child_id)
)

select
    child_id,
    session_date,
    cast(engagement as double) as engagement
from filtered
order by child_id, session_date
