-- one row per modality x age group x calendar month x session measure of the whole practice (measure null for a cell with no value of any measure): the children its sessions belong to, those with a value of the measure and those with a goal rated (the practice view's cells, access.disclosure rule 3)
with

session_cells as (
    select
        modality,
        age_group,
        month_start,
        count(distinct child_id) as n_children
    from sessions
    group by modality, age_group, month_start
),

measure_cells as (
    select
        s.modality,
        s.age_group,
        s.month_start,
        o.measure,
        count(distinct s.child_id) as n_children_values
    from sessions as s
    inner join observations as o on o.session_id = s.session_id
    where o.goal_id is null
    group by s.modality, s.age_group, s.month_start, o.measure
),

goal_cells as (
    select
        modality,
        age_group,
        month_start,
        count(distinct child_id) as n_children_goals
    from goal_ratings
    group by modality, age_group, month_start
),

cells as (
    select
        s.modality,
        s.age_group,
        s.month_start,
        m.measure,
        s.n_children,
        coalesce(m.n_children_values, 0) as n_children_values
    from session_cells as s
    left join measure_cells as m
        on s.modality is not distinct from m.modality
        and s.age_group is not distinct from m.age_group
        and s.month_start = m.month_start
)

select
    c.modality,
    c.age_group,
    c.month_start,
    c.measure,
    c.n_children,
    c.n_children_values,
    coalesce(g.n_children_goals, 0) as n_children_goals
from cells as c
left join goal_cells as g
    on c.modality is not distinct from g.modality
    and c.age_group is not distinct from g.age_group
    and c.month_start = g.month_start
order by c.modality, c.age_group, c.month_start, c.measure
