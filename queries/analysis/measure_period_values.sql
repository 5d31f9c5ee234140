-- one row per period ('current' = $current_from..$current_to, 'previous' = $previous_from..$previous_to, both within $date_from..$date_to) x session-level measure of $measures (catalogue ids; null = every one) with a value in the period, matching the other filters (child filter ignored: group figures): the measure's values as period_metrics gives them for a whole period without groups (n_values, n_children_values, mean_value, its child-clustered value_se, share_good), every measure and both periods from one read of the observations
with

-- $measures null: every session-level measure
wanted as (
    select measure
    from measure_catalogue
    where level = 'session' and ($measures is null or measure in (select unnest($measures)))
),

-- the measures' values of the filtered sessions: the observations mart carries each session's date and filter
-- columns, so its rows are filtered the same way as the sessions (no join to them)
measure_values as (
    select
        o.session_date,
        o.child_key,
        o.measure,
        o.value,
        case when c.good is not null then c.sign * o.value >= c.sign * c.good end as is_good
    from filtered_rows(
        'observations',
        date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
        teams := $teams, therapists := $therapists, approaches := $approaches, child := null
    ) as o
    inner join measure_catalogue as c on c.measure = o.measure
    inner join wanted as w on w.measure = o.measure
    where o.goal_id is null
),

-- without $current_from / $current_to: the whole of $date_from..$date_to; without $previous_from: no previous
periods as (
    select
        'current' as period,
        coalesce(cast($current_from as date), cast('-infinity' as date)) as lo,
        coalesce(cast($current_to as date), cast('infinity' as date)) as hi
    union all
    select 'previous' as period, cast($previous_from as date) as lo, cast($previous_to as date) as hi
    where $previous_from is not null
),

-- a session in both periods (when they overlap) counts in each; a child's sessions without a value add nothing
-- to these sums (period_metrics keeps them: zeros)
child_cells as (
    select
        p.period,
        e.measure,
        e.child_key,
        count(e.value) as n_values,
        count(*) filter (where e.is_good) as n_good,
        count(e.is_good) as n_good_known,
        coalesce(sum(e.value), 0) as value_total
    from measure_values as e
    inner join periods as p on e.session_date between p.lo and p.hi
    group by p.period, e.measure, e.child_key
),

cells as (
    select
        period,
        measure,
        count(*) filter (where n_values > 0) as n_children_values,
        sum(n_values) as n_values,
        sum(n_good) as n_good,
        sum(n_good_known) as n_good_known,
        sum(value_total) as value_total,
        -- for the child-clustered variance of the mean: sum over children of (S_c - n_c * mean)^2
        sum(value_total * value_total) as sum_s2,
        sum(value_total * n_values) as sum_sn,
        sum(n_values * n_values) as sum_n2
    from child_cells
    group by period, measure
),

rates as (
    select
        *,
        value_total / nullif(n_values, 0) as mean_value,
        n_good / nullif(n_good_known, 0) as share_good
    from cells
)

select
    period,
    measure,
    n_values,
    n_children_values,
    mean_value,
    -- CR1 cluster-robust (by child) standard error of the mean value (as in period_metrics)
    case when n_children_values > 1 then
        sqrt(greatest(n_children_values / (n_children_values - 1)
            * (sum_s2 - 2 * mean_value * sum_sn + mean_value * mean_value * sum_n2), 0)) / n_values
    end as value_se,
    share_good
from rates
where n_values > 0
order by period, measure
