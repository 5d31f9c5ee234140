-- one row per goal of the children with a session matching the child filter, as the goals mart holds it (date, modality, age group, team, therapist and approach filters ignored: a goal's text and levels are its own whatever the period)
with

picked as (
    select distinct child_id
    from filtered_rows(
        'sessions',
        date_from := null, date_to := null, modalities := null, age_groups := null,
        teams := null, therapists := null, approaches := null, child := $child_id
    )
)

select
    g.goal_uid,
    g.child_id,
    g.goal_id,
    g.goal_text,
    g.goal_domain,
    g.level_m3,
    g.level_m2,
    g.level_m1,
    g.level_0,
    g.level_p1,
    g.level_p2,
    g.baseline,
    g.target,
    g.mastery_criterion,
    g.measure,
    g.goal_weight,
    g.start_date,
    g.met_date,
    g.discontinued_date
from goals as g
inner join picked as c using (child_id)
order by g.child_id, g.goal_id
