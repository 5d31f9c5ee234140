-- one row per child-led or directed session x session-level measure with a value, matching the filters (approach filter ignored: the query compares the approaches), as approach_sessions (same rows, same order: child, measure, session date, session id) but without its per-child window and join, for analytics.approach.coded_sessions (read as Arrow, grouped in numpy): child_led (1 child-led, 0 directed), value, the measure's sign, session_date, and the session's order_key, modality, age group, therapist and team (the child's latest among them is taken in Python, as approach_sessions' arg_max)
with

catalogue as (
    select measure, sign
    from measure_catalogue
    where level = 'session' and ($measure is not null or sd is null)
),

-- the observations mart carries each session's date, approach and filter columns: no join to sessions
filtered as (
    select o.child_id, o.session_id, o.session_date, o.approach, o.measure, o.value, c.sign, o.modality,
        o.age_group, o.therapist_id, o.team, o.order_key
    from filtered_rows(
        'observations',
        date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
        teams := $teams, therapists := $therapists, approaches := null, child := $child_id
    ) as o
    inner join catalogue as c on c.measure = o.measure
    where o.goal_id is null
        and o.approach in ('child-led', 'directed')
        and ($measure is null or o.measure = $measure)
)

select
    child_id,
    measure,
    cast(approach = 'child-led' as integer) as child_led,
    cast(value as double) as value,
    cast(sign as double) as sign,
    session_date,
    order_key,
    modality,
    age_group,
    therapist_id,
    team
from filtered
order by child_id, measure, session_date, session_id
