-- one row per child-led or directed session x session-level measure with a value, as approach_sessions (same rows and order: child, measure, session date, session id; approach filter ignored: the query compares the approaches) but narrow, for the single-case effects of the stored build (analytics.approach.single_case_effects_coded): g (the child x measure's place in approach_effect_children), child_led (1 child-led, 0 directed), value and sign; session_order is the row's place within its g
with

catalogue as (
    select measure, sign
    from measure_catalogue
    where level = 'session' and ($measure is not null or sd is null)
),

filtered as (
    select f.child_id, f.session_id, f.session_date, f.approach, o.measure, o.value, c.sign, f.modality,
        f.age_group, f.therapist_id, f.team, f.order_key
    from filtered_rows(
        'sessions',
        date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
        teams := $teams, therapists := $therapists, approaches := null, child := $child_id
    ) as f
    inner join observations as o on o.session_id = f.session_id and o.goal_id is null
    inner join catalogue as c on c.measure = o.measure
    where f.approach in ('child-led', 'directed')
        and ($measure is null or o.measure = $measure)
),

children as (
    select
        child_id,
        measure,
        row_number() over (order by child_id, measure) - 1 as g,
        any_value(sign) as sign,
        arg_max(modality, order_key) as modality,
        arg_max(age_group, order_key) as age_group,
        arg_max(therapist_id, order_key) as therapist_id,
        arg_max(team, order_key) as team
    from filtered
    group by child_id, measure
)

select
    c.g,
    cast(f.approach = 'child-led' as integer) as child_led,
    cast(f.value as double) as value,
    cast(f.sign as double) as sign
from filtered as f
inner join children as c using (child_id, measure)
order by c.g, f.session_date, f.session_id
