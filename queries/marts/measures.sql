-- one row per standardised measure administration (child x measure x session: a session-level measure of the catalogue with sd and reliability), with its session's context and order_key
with

standardised as (
    select measure from measure_catalogue
    where sd is not null and reliability is not null and level = 'session'
),

administrations as (
    select o.*
    from observations as o
    inner join standardised as s on s.measure = o.measure
)

select
    session_id,
    child_id,
    measure,
    value as measure_score,
    session_date,
    order_key,
    therapist_id,
    team,
    modality,
    approach,
    age_group
from administrations
