-- one row per group x outcome ($by = 'month' | 'weekday' | 'time_of_day' | 'therapist_id' | 'modality' | 'team' | 'age_group'; child filter ignored: these are group figures): scheduled sessions, sessions with the outcome, the rate and its child-clustered variance (linearised ratio estimator, CR1)
with

filtered as (
    select
        f.child_id,
        f.attendance,
        coalesce(
            calendar_value($by, f.session_date, f.start_time),
            group_value($by, f.modality, f.age_group, f.team, f.therapist_id, f.approach)
        ) as grp,
        calendar_order($by, f.session_date, f.start_time) as grp_order,
        f.month_start
    from filtered_rows(
        'sessions',
        date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
        teams := $teams, therapists := $therapists, approaches := $approaches, child := null
    ) as f
),

child_cells as (
    -- one row per group x child: its scheduled sessions and each outcome's count
    select
        grp,
        grp_order,
        child_id,
        min(month_start) as first_month,
        count(*) as scheduled,
        count(*) filter (where attendance = 'attended') as attended,
        count(*) filter (where attendance = 'cancelled') as cancelled,
        count(*) filter (where attendance = 'late-cancelled') as late_cancelled,
        count(*) filter (where attendance = 'no-show') as no_show,
        count(*) filter (where attendance = 'clinician-cancelled') as clinician_cancelled
    from filtered
    where grp is not null
    group by grp, grp_order, child_id
),

child_outcomes as (
    unpivot child_cells
    on attended, cancelled, late_cancelled, no_show, clinician_cancelled
    into name outcome value n_outcome
),

group_rates as (
    select
        grp,
        grp_order,
        outcome,
        count(*) as n_children,
        sum(scheduled) as scheduled,
        sum(n_outcome) as n_outcome,
        sum(n_outcome) / sum(scheduled) as rate
    from child_outcomes
    group by grp, grp_order, outcome
)

select
    g.grp as "group",
    g.grp_order,
    g.outcome,
    g.n_children,
    g.scheduled,
    g.n_outcome,
    g.rate,
    -- V(r) = G / (G - 1) * sum_i (y_i - r m_i)^2 / (sum_i m_i)^2 (Cochran 1977, 6.9; CR1, Cameron & Miller 2015)
    case when g.n_children > 1 then
        g.n_children / (g.n_children - 1) * sum(power(c.n_outcome - g.rate * c.scheduled, 2)) / power(g.scheduled, 2)
    end as rate_var
from group_rates as g
join child_outcomes as c on c.grp = g.grp and c.outcome = g.outcome
group by g.grp, g.grp_order, g.outcome, g.n_children, g.scheduled, g.n_outcome, g.rate
order by g.grp_order, g.grp, g.outcome
