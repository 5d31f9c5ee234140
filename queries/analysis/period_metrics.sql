-- one row per period x group x group2 ($period = 'week' | 'month' | null for the whole range; $by, $by2 = a column or null; child filter ignored: these are group figures, not one child's): sessions, attendance, the session-level measure $measure (a catalogue id, default engagement) with its child-clustered standard error and the share of values at or beyond the catalogue's good value in its direction, goals at the expected level as of the period's end (each goal rated in the dates so far, by its latest rating up to the end of the period row; and how many children they belong to)
with

-- the measure's values of the filtered sessions, per child: the observations mart carries each session's date
-- and filter columns, so its rows are filtered and grouped the same way as the sessions (no row-level join)
measure_values as (
    select
        o.child_key,
        o.value,
        case when c.good is not null then c.sign * o.value >= c.sign * c.good end as is_good,
        case when $period is not null then cast(date_trunc($period, o.session_date) as date) end as period_start,
        coalesce(group_value($by, o.modality, o.age_group, o.team, o.therapist_id, o.approach), 'all') as grp,
        coalesce(group_value($by2, o.modality, o.age_group, o.team, o.therapist_id, o.approach), 'all') as grp2
    from filtered_rows(
        'observations',
        date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
        teams := $teams, therapists := $therapists, approaches := $approaches, child := null
    ) as o
    inner join measure_catalogue as c on c.measure = o.measure
    where o.measure = coalesce($measure, 'engagement') and o.goal_id is null
),

filtered_sessions as (
    select
        child_key,
        attended,
        cancelled,
        no_show,
        case when $period is not null then cast(date_trunc($period, session_date) as date) end as period_start,
        coalesce(group_value($by, modality, age_group, team, therapist_id, approach), 'all') as grp,
        coalesce(group_value($by2, modality, age_group, team, therapist_id, approach), 'all') as grp2
    from filtered_rows(
        'sessions',
        date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
        teams := $teams, therapists := $therapists, approaches := $approaches, child := null
    )
),

filtered_ratings as (
    select
        goal_key,
        child_key,
        order_key,
        gas_level,
        case when $period is not null then cast(date_trunc($period, session_date) as date) end as period_start,
        coalesce(group_value($by, modality, age_group, team, therapist_id, approach), 'all') as grp,
        coalesce(group_value($by2, modality, age_group, team, therapist_id, approach), 'all') as grp2
    from filtered_rows(
        'goal_ratings',
        date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
        teams := $teams, therapists := $therapists, approaches := $approaches, child := null
    )
),

child_session_cells as (
    select
        period_start,
        grp,
        grp2,
        child_key,
        count(*) as scheduled,
        count(*) filter (where attended) as attended,
        count(*) filter (where cancelled) as cancelled,
        count(*) filter (where no_show) as no_show
    from filtered_sessions
    group by period_start, grp, grp2, child_key
),

child_value_cells as (
    select
        period_start,
        grp,
        grp2,
        child_key,
        count(value) as n_values,
        count(*) filter (where is_good) as n_good,
        count(is_good) as n_good_known,
        sum(value) as value_total
    from measure_values
    group by period_start, grp, grp2, child_key
),

-- a value's session is one of the filtered sessions (same filter, same columns): every child cell has sessions
child_cells as (
    select
        s.period_start,
        s.grp,
        s.grp2,
        s.child_key,
        s.scheduled,
        s.attended,
        s.cancelled,
        s.no_show,
        coalesce(v.n_values, 0) as n_values,
        coalesce(v.n_good, 0) as n_good,
        coalesce(v.n_good_known, 0) as n_good_known,
        coalesce(v.value_total, 0) as value_total
    from child_session_cells as s
    left join child_value_cells as v
        on v.period_start is not distinct from s.period_start and v.grp = s.grp and v.grp2 = s.grp2
        and v.child_key = s.child_key
),

session_cells as (
    select
        period_start,
        grp,
        grp2,
        count(*) as n_children,
        count(*) filter (where attended > 0) as active_children,
        count(*) filter (where n_values > 0) as n_children_values,
        sum(scheduled) as sessions,
        sum(attended) as attended,
        sum(cancelled) as cancelled,
        sum(no_show) as no_show,
        sum(n_values) as n_values,
        sum(n_good) as n_good,
        sum(n_good_known) as n_good_known,
        sum(value_total) as value_total,
        -- for the child-clustered variance of the mean: sum over children of (S_c - n_c * mean)^2
        sum(value_total * value_total) as sum_s2,
        sum(value_total * n_values) as sum_sn,
        sum(n_values * n_values) as sum_n2
    from child_cells
    group by period_start, grp, grp2
),

-- the months a point is drawn for: each goal's status as of a month's end is its latest rating up to then
period_list as (
    select distinct period_start from filtered_sessions
    union
    select distinct period_start from filtered_ratings
),

goal_period_latest as (
    select
        period_start,
        grp,
        grp2,
        goal_key,
        any_value(child_key) as child_key,
        max(order_key) as last_key,
        arg_max(gas_level, order_key) as last_level
    from filtered_ratings
    group by period_start, grp, grp2, goal_key
),

-- a goal rated in the filter's dates counts from its first rating to the period's end, at its
-- latest rating so far (with $period null: one row, the latest rating in the dates)
goal_latest as (
    select
        p.period_start,
        g.grp,
        g.grp2,
        g.goal_key,
        any_value(g.child_key) as child_key,
        arg_max(g.last_level, g.last_key) as latest_level
    from period_list as p
    inner join goal_period_latest as g
        on g.period_start is not distinct from p.period_start or g.period_start < p.period_start
    group by p.period_start, g.grp, g.grp2, g.goal_key
),

goal_cells as (
    select
        period_start,
        grp,
        grp2,
        count(*) as n_goals,
        count(distinct child_key) as n_children_goals,
        count(*) filter (where latest_level >= $expected_level) as goals_at_expected
    from goal_latest
    group by period_start, grp, grp2
),

cells as (
    select * from session_cells
    union all by name
    select * from goal_cells
),

combined as (
    select
        period_start,
        grp,
        grp2,
        coalesce(sum(n_children), 0) as n_children,
        coalesce(sum(active_children), 0) as active_children,
        coalesce(sum(n_children_values), 0) as n_children_values,
        coalesce(sum(sessions), 0) as sessions,
        coalesce(sum(attended), 0) as attended,
        coalesce(sum(cancelled), 0) as cancelled,
        coalesce(sum(no_show), 0) as no_show,
        coalesce(sum(n_values), 0) as n_values,
        coalesce(sum(n_good), 0) as n_good,
        coalesce(sum(n_good_known), 0) as n_good_known,
        sum(value_total) as value_total,
        sum(sum_s2) as sum_s2,
        sum(sum_sn) as sum_sn,
        sum(sum_n2) as sum_n2,
        coalesce(sum(n_goals), 0) as n_goals,
        coalesce(sum(n_children_goals), 0) as n_children_goals,
        coalesce(sum(goals_at_expected), 0) as goals_at_expected
    from cells
    group by period_start, grp, grp2
),

rates as (
    select
        *,
        attended / nullif(sessions, 0) as attendance_rate,
        cancelled / nullif(sessions, 0) as cancellation_rate,
        no_show / nullif(sessions, 0) as no_show_rate,
        value_total / nullif(n_values, 0) as mean_value,
        n_good / nullif(n_good_known, 0) as share_good,
        goals_at_expected / nullif(n_goals, 0) as share_goals_at_expected
    from combined
)

select
    period_start,
    grp,
    grp2,
    n_children,
    active_children,
    sessions,
    attended,
    cancelled,
    no_show,
    attendance_rate,
    cancellation_rate,
    no_show_rate,
    n_values,
    n_children_values,
    mean_value,
    -- CR1 cluster-robust (by child) standard error of the mean value
    case when n_children_values > 1 then
        sqrt(greatest(n_children_values / (n_children_values - 1)
            * (sum_s2 - 2 * mean_value * sum_sn + mean_value * mean_value * sum_n2), 0)) / n_values
    end as value_se,
    n_good,
    share_good,
    n_goals,
    n_children_goals,
    goals_at_expected,
    share_goals_at_expected
from rates
order by period_start, grp, grp2
