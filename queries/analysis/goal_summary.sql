-- one row per goal with ratings matching the filters: first and latest level, met (ever at or above $expected_level), weeks to first meeting it, level 12 weeks ($stall_days) before the latest rating
with

filtered as (
    select *
    from filtered_rows(
        'goal_ratings',
        date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
        teams := $teams, therapists := $therapists, approaches := $approaches, child := $child_id
    )
),

-- grouped on the goal's integer number (goal_key), its goal_uid carried out
goals as (
    select
        goal_key,
        any_value(goal_uid) as goal_uid,
        any_value(goal_id) as goal_id,    -- goal_uid is child_id/goal_id
        any_value(child_id) as child_id,
        arg_max(goal_domain, order_key) as goal_domain,
        arg_max(goal_weight, order_key) as goal_weight,
        arg_max(modality, order_key) as modality,
        arg_max(therapist_id, order_key) as therapist_id,
        arg_max(team, order_key) as team,
        arg_max(age_group, order_key) as age_group,
        count(*) as n_ratings,
        min(session_date) as first_date,
        max(session_date) as last_date,
        arg_min(gas_level, order_key) as first_level,
        arg_max(gas_level, order_key) as last_level,
        max(gas_level) as best_level,
        min(session_date) filter (where gas_level >= $expected_level) as first_met_date
    from filtered
    group by goal_key
),

reference_points as (
    select
        goal_key,
        last_date - cast(coalesce($stall_days, 84) as integer) as reference_date
    from goals
),

reference_levels as (
    select
        p.goal_key,
        r.session_date as reference_rated_on,
        r.gas_level as reference_level
    from reference_points as p
    asof left join filtered as r
        on r.goal_key = p.goal_key and r.session_date <= p.reference_date
)

select
    g.goal_uid,
    g.goal_id,
    g.child_id,
    g.goal_domain as domain,
    g.goal_weight,
    g.n_ratings,
    g.first_date,
    g.first_level,
    g.last_date,
    g.last_level,
    g.best_level,
    g.first_met_date is not null as met,
    g.first_met_date,
    date_diff('day', g.first_date, g.first_met_date) / 7.0 as weeks_to_met,
    date_diff('day', g.first_date, g.last_date) / 7.0 as weeks_rated,
    g.last_level > g.first_level as improved,
    g.last_level >= $expected_level as at_expected_now,
    r.reference_rated_on,
    r.reference_level,
    g.modality,
    g.therapist_id,
    g.team,
    g.age_group
from goals as g
left join reference_levels as r using (goal_key)
order by g.child_id, g.goal_id
