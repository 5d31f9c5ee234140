-- one row per standardised measure administration (child x measure x session)
with

given as (
    select session_id, measure, measure_score
    from int_session_rows_current
    where measure is not null and measure_score is not null
),

deduplicated as (
    select session_id, measure, arg_max(measure_score, measure_score) as measure_score
    from given
    group by session_id, measure
)

select
    d.session_id,
    s.child_id,
    d.measure,
    d.measure_score,
    s.session_date,
    s.therapist_id,
    s.team,
    s.modality,
    s.age_group
from deduplicated as d
inner join int_sessions as s using (session_id)
