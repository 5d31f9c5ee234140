-- one row per attended session with an engagement rating matching the filters: child, date, engagement (for per-child trends)
with

filtered as (
    select child_id, session_date, engagement
    from filtered_rows(
        'sessions',
        date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
        teams := $teams, therapists := $therapists, approaches := $approaches, child := $child_id
    )
    where engagement is not null
)

select
    child_id,
    session_date,
    cast(engagement as double) as engagement
from filtered
order by child_id, session_date
