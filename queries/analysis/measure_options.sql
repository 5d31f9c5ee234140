-- one row per session-level measure of the catalogue with a value in the warehouse, in catalogue order: what the outcome selector offers (id, label, unit, kind, direction) and how many values it has
with

counts as (
    select measure, count(*) as n_values
    from observations
    where goal_id is null
    group by measure
),

catalogue as (
    select measure, label, unit, kind, direction, row_number() over () as position
    from measure_catalogue
    where level = 'session'
)

select
    c.measure,
    c.label,
    c.unit,
    c.kind,
    c.direction,
    n.n_values
from catalogue as c
inner join counts as n using (measure)
order by c.position
