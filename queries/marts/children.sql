-- one row per child with a session or an episode of care: date of birth, the latest episode (referral, discharge date, reason and kind), first and last session, latest modality, therapist and team
with

births as (
    select child_id, date_of_birth
    from src_children
    where date_of_birth is not null
    qualify row_number() over (partition by child_id order by export_order desc, load_seq desc, line desc) = 1
),

episodes as (
    -- the latest episode of care of each child (the children source; '' is what session rows say)
    select child_id, episode_id, referral_date, discharge_date, discharge_reason, discharge_kind
    from src_children
    where episode_id <> ''
    qualify row_number() over (partition by child_id order by referral_date desc nulls last, episode_id desc) = 1
),

seen as (
    select
        child_id,
        min(session_date) as first_session,
        max(session_date) as last_session,
        max(session_date) filter (where attended) as last_attended,
        arg_max(modality, order_key) as modality,
        arg_max(therapist_id, order_key) as therapist_id,
        arg_max(team, order_key) as team
    from sessions
    group by child_id
),

children as (
    select child_id from seen
    union
    select child_id from episodes
)

select
    c.child_id,
    b.date_of_birth,
    e.episode_id,
    e.referral_date,
    e.discharge_date,
    e.discharge_reason,
    e.discharge_kind,
    s.first_session,
    s.last_session,
    s.last_attended,
    s.modality,
    s.therapist_id,
    s.team
from children as c
left join births as b using (child_id)
left join episodes as e using (child_id)
left join seen as s using (child_id)
