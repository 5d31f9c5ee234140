-- one row per child x session-level measure of approach_effect_rows, matching the filters (approach filter ignored: the query compares the approaches), in (child_id, measure) order (its place is approach_effect_rows' g): the measure's sign and the child's latest modality, age group, therapist and team among those sessions
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

select child_id, measure, modality, age_group, therapist_id, team, cast(sign as double) as sign
from children
order by g
