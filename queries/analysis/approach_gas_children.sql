-- one row per child with GAS ratings in child-led or directed sessions matching the filters (approach filter ignored: the query compares the approaches): rated sessions and mean GAS level in each approach, eligibility for the paired comparison
with

filtered as (
    select child_id, session_id, session_date, approach, gas_level, modality, age_group, therapist_id, team, order_key
    from filtered_rows(
        'goal_ratings',
        date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
        teams := $teams, therapists := $therapists, approaches := null, child := $child_id
    )
    where approach in ('child-led', 'directed')
),

children as (
    select
        child_id,
        arg_max(modality, order_key) as modality,
        arg_max(age_group, order_key) as age_group,
        arg_max(therapist_id, order_key) as therapist_id,
        arg_max(team, order_key) as team,
        count(distinct session_id) filter (where approach = 'child-led') as n_child_led,
        count(distinct session_id) filter (where approach = 'directed') as n_directed,
        count(*) filter (where approach = 'child-led') as n_ratings_child_led,
        count(*) filter (where approach = 'directed') as n_ratings_directed,
        avg(gas_level) filter (where approach = 'child-led') as mean_child_led,
        avg(gas_level) filter (where approach = 'directed') as mean_directed
    from filtered
    group by child_id
)

select
    child_id,
    modality,
    age_group,
    therapist_id,
    team,
    n_child_led,
    n_directed,
    n_ratings_child_led,
    n_ratings_directed,
    mean_child_led,
    mean_directed,
    mean_child_led - mean_directed as diff,
    coalesce(n_child_led >= $min_sessions and n_directed >= $min_sessions, false) as eligible
from children
order by child_id
