-- one row per standardised measure administration (child x measure x session)
with

measures as (
    select * from int_measures
)

select
    session_id,
    child_id,
    measure,
    measure_score,
    session_date,
    therapist_id,
    team,
    modality,
    age_group
from measures
