-- one row per child per $period ('week' or 'month') with sessions matching the filters: scheduled, attended, cancelled, no-show, attendance rate, engagement and share rated 4-5
with

filtered as (
    select
        f.*,
        e.value as engagement,
        cast(date_trunc(coalesce($period, 'week'), f.session_date) as date) as period_start
    from filtered_rows(
        'sessions',
        date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
        teams := $teams, therapists := $therapists, approaches := $approaches, child := $child_id
    ) as f
    left join session_values('engagement') as e on e.session_id = f.session_id
),

periods as (
    select
        child_id,
        period_start,
        count(*) as sessions_scheduled,
        count(*) filter (where attended) as sessions_attended,
        count(*) filter (where cancelled) as sessions_cancelled,
        count(*) filter (where no_show) as sessions_no_show,
        count(engagement) as sessions_rated,
        count(*) filter (where engagement >= 4) as sessions_rated_high,
        avg(engagement) as mean_engagement,
        avg(engagement) filter (where approach = 'child-led') as mean_engagement_child_led,
        avg(engagement) filter (where approach = 'directed') as mean_engagement_directed,
        arg_max(modality, order_key) as modality,
        arg_max(therapist_id, order_key) as therapist_id
    from filtered
    group by child_id, period_start
)

select
    child_id,
    period_start,
    sessions_scheduled,
    sessions_attended,
    sessions_cancelled,
    sessions_no_show,
    sessions_attended / sessions_scheduled as attendance_rate,
    sessions_rated,
    mean_engagement,
    sessions_rated_high / nullif(sessions_rated, 0) as share_high_engagement,
    mean_engagement_child_led,
    mean_engagement_directed,
    modality,
    therapist_id
from periods
order by child_id, period_start
