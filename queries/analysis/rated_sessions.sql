-- one row per attended session with an engagement rating matching the filters: child, date, engagement (for per-child trends)
with

filtered as (
    select f.child_id, f.session_date, e.value as engagement
    from filtered_rows(
        'sessions',
        date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
        teams := $teams, therapists := $therapists, approaches := $approaches, child := $child_id
    ) as f
    inner join session_values('engagement') as e on e.session_id = f.session_id
)

select
    child_id,
    session_date,
    cast(engagement as double) as engagement
from filtered
order by child_id, session_date
