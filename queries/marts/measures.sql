-- one row per standardised measure administration (child x measure x session), with its session's context and order_key
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
    order_key,
    therapist_id,
    team,
    modality,
    approach,
    age_group
from measures
