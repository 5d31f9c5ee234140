-- one row: the values each filter can take (never null: a session whose approach or modality is not recorded matches no chosen value; age groups in band order) and the range of session dates in the warehouse
with

base as (
    select modality, age_group, team, therapist_id, approach, child_id, session_date
    from sessions
),

present_age_groups as (
    select distinct age_group from base where age_group is not null
),

age_groups as (
    select list(a.age_group order by coalesce(b.ord, 1000000), a.age_group) as age_groups
    from present_age_groups as a
    left join age_group_bands as b on b.label = a.age_group
),

values_present as (
    select
        list(distinct modality order by modality) filter (where modality is not null) as modalities,
        list(distinct team order by team) filter (where team is not null) as teams,
        list(distinct therapist_id order by therapist_id) filter (where therapist_id is not null) as therapists,
        list(distinct approach order by approach) filter (where approach is not null) as approaches,
        list(distinct child_id order by child_id) filter (where child_id is not null) as children,
        min(session_date) as min_date,
        max(session_date) as max_date
    from base
)

select
    v.modalities,
    a.age_groups,
    v.teams,
    v.therapists,
    v.approaches,
    v.children,
    v.min_date,
    v.max_date
from values_present as v
cross join age_groups as a
