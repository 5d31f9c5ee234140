-- one row per group x outcome ($dimension = 'month' | 'weekday' | 'time_of_day' | 'therapist_id' | 'modality' | 'team' | 'age_group'; child filter ignored: these are group figures): scheduled sessions, sessions with the outcome, the rate and its child-clustered variance (linearised ratio estimator, CR1)
with

filtered as (
    select
        f.child_id,
        f.attendance,
        case $dimension
            when 'month' then strftime(f.month_start, '%Y-%m')
            when 'weekday' then dayname(f.session_date)
            when 'time_of_day' then case
                when f.start_time is null then 'not recorded'
                when hour(f.start_time) < 12 then 'morning (before 12:00)'
                when hour(f.start_time) < 15 then 'early afternoon (12:00-14:59)'
                else 'after school (15:00 and later)'
            end
            when 'therapist_id' then f.therapist_id
            when 'modality' then f.modality
            when 'team' then f.team
            when 'age_group' then f.age_group
        end as grp,
        case $dimension
            when 'month' then cast(strftime(f.month_start, '%Y%m') as integer)
            when 'weekday' then isodow(f.session_date)
            when 'time_of_day' then case
                when f.start_time is null then 9
                when hour(f.start_time) < 12 then 1
                when hour(f.start_time) < 15 then 2
                else 3
            end
            else 0
        end as grp_order,
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
