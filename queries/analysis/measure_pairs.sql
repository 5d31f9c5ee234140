-- one row per child x measure with administrations matching the filters (approach filter ignored: a measure's change runs from its first to its latest administration whatever the sessions' approach): first and latest score and date, number of administrations
with

filtered as (
    select *
    from filtered_rows(
        'measures',
        date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
        teams := $teams, therapists := $therapists, approaches := null, child := $child_id
    )
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
