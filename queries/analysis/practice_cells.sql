-- one row per modality x age group x calendar month of the whole practice: the children its sessions belong to, those with a rated session and those with a goal rated (the practice view's cells, pipelines.disclosure rule 3)
with

rated as (
    select s.modality, s.age_group, s.month_start, s.child_id, e.value as engagement
    from sessions as s
    left join session_values('engagement') as e on e.session_id = s.session_id
),

session_cells as (
    select
        modality,
        age_group,
        month_start,
        count(distinct child_id) as n_children,
        count(distinct child_id) filter (where engagement is not null) as n_children_rated
    from rated
    group by modality, age_group, month_start
),

goal_cells as (
    select
        modality,
        age_group,
        month_start,
        count(distinct child_id) as n_children_goals
    from goal_ratings
    group by modality, age_group, month_start
)

select
    s.modality,
    s.age_group,
    s.month_start,
    s.n_children,
    s.n_children_rated,
    coalesce(g.n_children_goals, 0) as n_children_goals
from session_cells as s
left join goal_cells as g
    on s.modality is not distinct from g.modality
    and s.age_group is not distinct from g.age_group
    and s.month_start = g.month_start
order by s.modality, s.age_group, s.month_start
