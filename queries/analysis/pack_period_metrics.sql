-- one row per window ($window_keys[i] = $window_from[i]..$window_to[i], all within $date_from..$date_to; null: the whole range) x grouping ($bys: a column of group_value, or null for no group; null: no group) x session-level measure of $measures (null: engagement) x period ($period = 'month' | 'week' | null) x group, matching the other filters (child filter ignored: group figures): the figures period_metrics gives for that window, $by and $measure (same columns, same sums), every window, grouping and measure from one read of the sessions, goal ratings and observations
with

-- without $window_keys: one window, the whole of $date_from..$date_to
windows as (
    select
        unnest(coalesce($window_keys::varchar[], ['all'])) as win,
        unnest(coalesce($window_from::date[], [cast('-infinity' as date)])) as lo,
        unnest(coalesce($window_to::date[], [cast('infinity' as date)])) as hi
),

groupings as (
    select unnest(coalesce($bys::varchar[], [cast(null as varchar)])) as gby
),

wanted as (
    select unnest(coalesce($measures::varchar[], ['engagement'])) as measure
),

measure_values as (
    select
        o.session_id,
        o.measure,
        o.value,
        case when c.good is not null then c.sign * o.value >= c.sign * c.good end as is_good
    from observations as o
    inner join measure_catalogue as c on c.measure = o.measure
    inner join wanted as w on w.measure = o.measure
    where o.goal_id is null
),

span_sessions as (
    select
        f.session_id,
        f.session_date,
        f.child_key,
        f.attended,
        f.cancelled,
        f.no_show,
        f.modality,
        f.age_group,
        f.team,
        f.therapist_id,
        f.approach
    from filtered_rows(
        'sessions',
        date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
        teams := $teams, therapists := $therapists, approaches := $approaches, child := null
    ) as f
),

-- a session in two windows (when they overlap) counts in each
window_sessions as (
    select
        w.win,
        s.*,
        case when $period is not null then cast(date_trunc($period, s.session_date) as date) end as period_start
    from span_sessions as s
    inner join windows as w on s.session_date between w.lo and w.hi
),

-- each session once per measure (period_metrics' left join: a session without a value still counts)
filtered_sessions as (
    select
        s.win,
        g.gby,
        m.measure,
        s.child_key,
        s.attended,
        s.cancelled,
        s.no_show,
        e.value,
        e.is_good,
        s.period_start,
        coalesce(group_value(g.gby, s.modality, s.age_group, s.team, s.therapist_id, s.approach), 'all') as grp,
        'all' as grp2
    from window_sessions as s
    cross join groupings as g
    cross join wanted as m
    left join measure_values as e on e.session_id = s.session_id and e.measure = m.measure
),

filtered_ratings as (
    select
        w.win,
        g.gby,
        r.goal_key,
        r.child_key,
        r.order_key,
        r.gas_level,
        case when $period is not null then cast(date_trunc($period, r.session_date) as date) end as period_start,
        coalesce(group_value(g.gby, r.modality, r.age_group, r.team, r.therapist_id, r.approach), 'all') as grp,
        'all' as grp2
    from filtered_rows(
        'goal_ratings',
        date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
        teams := $teams, therapists := $therapists, approaches := $approaches, child := null
    ) as r
    inner join windows as w on r.session_date between w.lo and w.hi
    cross join groupings as g
),

child_cells as (
    select
        win,
        gby,
        measure,
        period_start,
        grp,
        grp2,
        child_key,
        count(*) as scheduled,
        count(*) filter (where attended) as attended,
        count(*) filter (where cancelled) as cancelled,
        count(*) filter (where no_show) as no_show,
        count(value) as n_values,
        count(*) filter (where is_good) as n_good,
        count(is_good) as n_good_known,
        coalesce(sum(value), 0) as value_total
    from filtered_sessions
    group by win, gby, measure, period_start, grp, grp2, child_key
),

session_cells as (
    select
        win,
        gby,
        measure,
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
    group by win, gby, measure, period_start, grp, grp2
),

-- the periods a point is drawn for, per window and grouping (period_metrics' period_list)
period_list as (
    select distinct win, gby, period_start from filtered_sessions
    union
    select distinct win, gby, period_start from filtered_ratings
),

goal_period_latest as (
    select
        win,
        gby,
        period_start,
        grp,
        grp2,
        goal_key,
        any_value(child_key) as child_key,
        max(order_key) as last_key,
        arg_max(gas_level, order_key) as last_level
    from filtered_ratings
    group by win, gby, period_start, grp, grp2, goal_key
),

goal_latest as (
    select
        p.win,
        p.gby,
        p.period_start,
        g.grp,
        g.grp2,
        g.goal_key,
        any_value(g.child_key) as child_key,
        arg_max(g.last_level, g.last_key) as latest_level
    from period_list as p
    inner join goal_period_latest as g
        on g.win = p.win and g.gby is not distinct from p.gby
        and (g.period_start is not distinct from p.period_start or g.period_start < p.period_start)
    group by p.win, p.gby, p.period_start, g.grp, g.grp2, g.goal_key
),

-- goal figures do not depend on the measure: each measure's rows get them
goal_cells as (
    select
        c.win,
        c.gby,
        m.measure,
        c.period_start,
        c.grp,
        c.grp2,
        c.n_goals,
        c.n_children_goals,
        c.goals_at_expected
    from (
        select
            win,
            gby,
            period_start,
            grp,
            grp2,
            count(*) as n_goals,
            count(distinct child_key) as n_children_goals,
            count(*) filter (where latest_level >= $expected_level) as goals_at_expected
        from goal_latest
        group by win, gby, period_start, grp, grp2
    ) as c
    cross join wanted as m
),

cells as (
    select * from session_cells
    union all by name
    select * from goal_cells
),

combined as (
    select
        win,
        gby,
        measure,
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
    group by win, gby, measure, period_start, grp, grp2
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
    win,
    gby,
    measure as metric_measure,
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
    -- CR1 cluster-robust (by child) standard error of the mean value (as in period_metrics)
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
order by win, gby nulls first, metric_measure, period_start, grp, grp2
