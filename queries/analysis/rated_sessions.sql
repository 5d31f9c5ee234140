-- one row per session x session-level measure with a value matching the filters ($measure = one catalogue id, null = every session-level measure but the standardised ones, whose change is the reliable change): child, measure, date, value and the measure's sign (+1 higher is better, -1 lower) and good value (for per-child trends and flags)
with

catalogue as (
    select measure, sign, good
    from measure_catalogue
    where level = 'session' and ($measure is not null or sd is null)
),

filtered as (
    select f.child_id, f.session_date, o.measure, o.value, c.sign, c.good
    from filtered_rows(
        'sessions',
        date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
        teams := $teams, therapists := $therapists, approaches := $approaches, child := $child_id
    ) as f
    inner join observations as o on o.session_id = f.session_id and o.goal_id is null
    inner join catalogue as c on c.measure = o.measure
    where $measure is null or o.measure = $measure
)

select
    child_id,
    measure,
    session_date,
    cast(value as double) as value,
    cast(sign as double) as sign,
    good
from filtered
order by child_id, measure, session_date
