-- one row per child x monthly review point x active goal, as gas_review_goals (same rows and order; date, modality, age group, team, therapist and approach filters ignored: a review covers the child's whole record; $child_id = one child) but narrow, for the stored build's GAS reviews (numpy columns): child, review month and month end, the goal's latest GAS level and weight up to the month's end
with

ratings as (
    select child_id, goal_uid, goal_id, session_id, session_date, gas_level, goal_weight
    from filtered_rows(
        'goal_ratings',
        date_from := null, date_to := null, modalities := null, age_groups := null,
        teams := null, therapists := null, approaches := null, child := $child_id
    )
),

goals as (
    select child_id, goal_uid, min(session_date) as first_rated
    from ratings
    group by child_id, goal_uid
),

last_sessions as (
    select child_id, max(session_date) as last_session
    from filtered_rows(
        'sessions',
        date_from := null, date_to := null, modalities := null, age_groups := null,
        teams := null, therapists := null, approaches := null, child := $child_id
    )
    group by child_id
),

review_months as (
    select
        g.child_id,
        cast(unnest(generate_series(
            date_trunc('month', min(g.first_rated)),
            date_trunc('month', greatest(max(l.last_session), max(g.first_rated))),
            interval 1 month)) as date) as review_month
    from goals as g
    inner join last_sessions as l using (child_id)
    group by g.child_id
),

review_points as (
    select
        child_id,
        review_month,
        cast(review_month + interval 1 month - interval 1 day as date) as month_end
    from review_months
),

active_goals as (
    select p.child_id, p.review_month, p.month_end, g.goal_uid
    from review_points as p
    inner join goals as g
        on g.child_id = p.child_id and g.first_rated <= p.month_end
),

latest as (
    select
        a.child_id,
        a.review_month,
        a.month_end,
        a.goal_uid,
        r.goal_id,
        r.session_date as rated_on,
        r.gas_level,
        r.goal_weight
    from active_goals as a
    asof inner join ratings as r
        on r.goal_uid = a.goal_uid and r.session_date <= a.month_end
)

select
    child_id,
    review_month,
    month_end,
    gas_level,
    goal_weight
from latest
order by child_id, review_month, goal_uid
