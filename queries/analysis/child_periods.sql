-- one row per child per $period ('week' or 'month') with sessions matching the filters: scheduled, attended, cancelled, no-show, attendance rate, engagement and share rated 4-5
with

filtered as (
    select
        *,
        cast(date_trunc(coalesce($period, 'week'), session_date) as date) as period_start,
        date_diff('day', date '2000-01-01', session_date) * 4294967296 + cast(hash(session_id) % 4294967296 as bigint) as order_key
    from sessions
    where ($date_from is null or session_date >= $date_from)
        and ($date_to is null or session_date <= $date_to)
        and ($modalities is null or list_contains($modalities, modality))
        and ($age_groups is null or list_contains($age_groups, age_group))
        and ($teams is null or list_contains($teams, team))
        and ($therapists is null or list_contains($therapists, therapist_id))
        and ($approaches is null or list_contains($approaches, approach))
        and ($child_id is null or child_id = $child_id)
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
