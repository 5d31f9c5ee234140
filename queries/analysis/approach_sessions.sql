-- one row per rated child-led or directed session matching the filters (approach filter ignored: the query compares the approaches), with its order within the child and the child's latest modality, age group, therapist and team among them
with

filtered as (
    select f.child_id, f.session_id, f.session_date, f.approach, e.value as engagement, f.modality, f.age_group,
        f.therapist_id, f.team, f.order_key
    from filtered_rows(
        'sessions',
        date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
        teams := $teams, therapists := $therapists, approaches := null, child := $child_id
    ) as f
    inner join session_values('engagement') as e on e.session_id = f.session_id
    where f.approach in ('child-led', 'directed')
),

children as (
    select
        child_id,
        arg_max(modality, order_key) as child_modality,
        arg_max(age_group, order_key) as child_age_group,
        arg_max(therapist_id, order_key) as child_therapist_id,
        arg_max(team, order_key) as child_team
    from filtered
    group by child_id
)

select
    f.child_id,
    f.session_id,
    f.session_date,
    f.approach,
    cast(f.engagement as double) as engagement,
    row_number() over (partition by f.child_id order by f.session_date, f.session_id) as session_order,
    c.child_modality as modality,
    c.child_age_group as age_group,
    c.child_therapist_id as therapist_id,
    c.child_team as team
from filtered as f
inner join children as c using (child_id)
order by f.child_id, session_order
