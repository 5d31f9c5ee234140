-- one row per child-led or directed session x session-level measure with a value, matching the filters (approach filter ignored: the query compares the approaches; $measure = one catalogue id, null = every session-level measure but the standardised ones, whose change is the reliable change), with the measure's sign (+1 higher is better, -1 lower), its order within the child and measure, and the child's latest modality, age group, therapist and team among them
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
        arg_max(modality, order_key) as child_modality,
        arg_max(age_group, order_key) as child_age_group,
        arg_max(therapist_id, order_key) as child_therapist_id,
        arg_max(team, order_key) as child_team
    from filtered
    group by child_id, measure
)

select
    f.child_id,
    f.measure,
    f.session_id,
    f.session_date,
    f.approach,
    cast(f.value as double) as value,
    cast(f.sign as double) as sign,
    row_number() over (partition by f.child_id, f.measure order by f.session_date, f.session_id) as session_order,
    c.child_modality as modality,
    c.child_age_group as age_group,
    c.child_therapist_id as therapist_id,
    c.child_team as team
from filtered as f
inner join children as c using (child_id, measure)
order by f.child_id, f.measure, session_order
