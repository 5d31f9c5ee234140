-- one row per session matching the filters (dates, modality, age group, team, therapist, approach; $child_id = one child), with its engagement rating and the value of the session-level measure $measure (a catalogue id, default engagement)
with

measure_values as (
    select session_id, value
    from observations
    where measure = coalesce($measure, 'engagement') and goal_id is null
),

filtered as (
    select f.*, e.value as engagement, v.value, coalesce($measure, 'engagement') as measure
    from filtered_rows(
        'sessions',
        date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
        teams := $teams, therapists := $therapists, approaches := $approaches, child := $child_id
    ) as f
    left join session_values('engagement') as e on e.session_id = f.session_id
    left join measure_values as v on v.session_id = f.session_id
)

select
    session_id,
    child_id,
    session_date,
    week_start,
    month_start,
    approach,
    attendance,
    attended,
    cancelled,
    no_show,
    engagement,
    measure,
    value,
    modality,
    therapist_id,
    team,
    age_group,
    age_years,
    setting,
    duration_min,
    goals_rated
from filtered
order by child_id, session_date, session_id
