-- one row per month x group ($by = 'team' | 'therapist_id' | 'modality' | 'age_group' | null for the whole selection; child filter ignored: group figures): attended sessions with a recorded approach, how many were child-led, the share and its child-clustered variance (linearised ratio estimator, CR1)
with

filtered as (
    select
        f.child_id,
        f.month_start,
        f.approach = 'child-led' as child_led,
        coalesce(group_value($by, f.modality, f.age_group, f.team, f.therapist_id, f.approach), 'all') as grp
    from filtered_rows(
        'sessions',
        date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
        teams := $teams, therapists := $therapists, approaches := $approaches, child := null
    ) as f
    where f.attended and f.approach is not null
),

child_cells as (
    select
        month_start,
        grp,
        child_id,
        count(*) as sessions,
        count(*) filter (where child_led) as child_led
    from filtered
    group by month_start, grp, child_id
),

group_shares as (
    select
        month_start,
        grp,
        count(*) as n_children,
        sum(sessions) as sessions,
        sum(child_led) as child_led,
        sum(child_led) / sum(sessions) as share
    from child_cells
    group by month_start, grp
)

select
    g.month_start,
    g.grp as "group",
    g.n_children,
    cast(g.sessions as bigint) as sessions,
    cast(g.child_led as bigint) as child_led,
    g.share,
    -- V(r) = G / (G - 1) * sum_i (y_i - r m_i)^2 / (sum_i m_i)^2 (Cochran 1977, 6.9; CR1, Cameron & Miller 2015)
    case when g.n_children > 1 then
        g.n_children / (g.n_children - 1) * sum(power(c.child_led - g.share * c.sessions, 2)) / power(g.sessions, 2)
    end as share_var
from group_shares as g
join child_cells as c on c.month_start = g.month_start and c.grp = g.grp
group by g.month_start, g.grp, g.n_children, g.sessions, g.child_led, g.share
order by g.month_start, g.grp
