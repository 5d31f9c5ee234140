-- one row per child with a session matching the child filter: the latest episode of care (referral, discharge) and the latest modality, therapist and team, from the children mart (date, modality, age group, team, therapist and approach filters ignored: a child's episode is theirs whatever the period)
with

picked as (
    select distinct child_id
    from filtered_rows(
        'sessions',
        date_from := null, date_to := null, modalities := null, age_groups := null,
        teams := null, therapists := null, approaches := null, child := $child_id
    )
)

select
    m.child_id,
    m.episode_id,
    m.referral_date,
    m.discharge_date,
    m.discharge_reason,
    m.discharge_kind,
    m.first_session,
    m.last_session,
    m.last_attended,
    m.modality,
    m.therapist_id,
    m.team
from picked as c
inner join children as m using (child_id)
order by m.child_id
