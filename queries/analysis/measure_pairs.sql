-- one row per child x measure with administrations matching the filters: first and latest score and date, number of administrations
with

filtered as (
    select *, date_diff('day', date '2000-01-01', session_date) * 4294967296 + cast(hash(session_id) % 4294967296 as bigint) as order_key
    from int_measures
    where ($date_from is null or session_date >= $date_from)
        and ($date_to is null or session_date <= $date_to)
        and ($modalities is null or list_contains($modalities, modality))
        and ($age_groups is null or list_contains($age_groups, age_group))
        and ($teams is null or list_contains($teams, team))
        and ($therapists is null or list_contains($therapists, therapist_id))
        and ($child_id is null or child_id = $child_id)
),

pairs as (
    select
        child_id,
        measure,
        count(*) as n_administrations,
        min(session_date) as first_date,
        arg_min(measure_score, order_key) as first_score,
        max(session_date) as last_date,
        arg_max(measure_score, order_key) as last_score,
        arg_max(modality, order_key) as modality,
        arg_max(therapist_id, order_key) as therapist_id,
        arg_max(team, order_key) as team,
        arg_max(age_group, order_key) as age_group
    from filtered
    group by child_id, measure
)

select
    child_id,
    measure,
    n_administrations,
    first_date,
    first_score,
    last_date,
    last_score,
    modality,
    therapist_id,
    team,
    age_group
from pairs
order by child_id, measure
