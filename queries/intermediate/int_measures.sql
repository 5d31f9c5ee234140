-- one row per standardised measure administration (child x measure x session), with its session's context and order_key
with

given as (
    select session_id, measure, measure_score
    from session_rows
    where measure is not null and measure_score is not null
),

deduplicated as (
    select session_id, measure, max(measure_score) as measure_score
    from given
    group by session_id, measure
),

session_context as (
    select * from sessions
)

select
    d.session_id,
    s.child_id,
    d.measure,
    d.measure_score,
    s.session_date,
    s.order_key,
    s.therapist_id,
    s.team,
    s.modality,
    s.approach,
    s.age_group
from deduplicated as d
inner join session_context as s on s.session_id = d.session_id
