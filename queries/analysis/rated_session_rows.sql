-- one row per session x session-level measure $measure (a catalogue id, default engagement, as child_list) with a value matching the filters (child filter ignored: the rows of every child of child_list), as rated_sessions but narrow, for the per-child trends of the stored build (analytics.trends.child_trends_coded): c (the child's place in child_list's order, same filters), days (session date minus $as_of, in days), value, and good (1 at or beyond the measure's good value in its direction, 0 not, null without a good value)
with

catalogue as (
    select measure, sign, good
    from measure_catalogue
    where level = 'session' and measure = coalesce($measure, 'engagement')
),

children as (
    select child_id, row_number() over (order by child_id) - 1 as c
    from (
        select distinct child_id
        from filtered_rows(
            'sessions',
            date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
            teams := $teams, therapists := $therapists, approaches := $approaches, child := null
        )
    )
),

filtered as (
    select f.child_id, f.session_date, cast(o.value as double) as value, cast(c.sign as double) as sign, c.good
    from filtered_rows(
        'sessions',
        date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
        teams := $teams, therapists := $therapists, approaches := $approaches, child := null
    ) as f
    inner join observations as o on o.session_id = f.session_id and o.goal_id is null
    inner join catalogue as c on c.measure = o.measure
)

select
    k.c,
    cast(f.session_date - cast($as_of as date) as bigint) as days,
    f.value,
    case when f.good is not null then cast(f.sign * f.value >= f.sign * f.good as double) end as good
from filtered as f
inner join children as k using (child_id)
order by k.c, f.session_date
