-- one row per trial-based goal x session with trials matching the filters: trials correct and total, percent correct, the goal's mastery criterion (the goal's own "80% in 3 consecutive sessions", else settings [mastery] $mastery_percent / $mastery_sessions), whether the session met its percent, the run of consecutive sessions meeting it, and whether the criterion holds from this session on
with

catalogue as (
    select measure
    from measure_catalogue
    where kind = 'trials'
),

filtered as (
    select
        o.goal_uid,
        o.goal_id,
        o.child_id,
        o.measure,
        o.session_id,
        f.session_date,
        f.order_key,
        f.approach,
        o.trials_correct,
        o.trials_total,
        o.value as percent_correct
    from filtered_rows(
        'sessions',
        date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
        teams := $teams, therapists := $therapists, approaches := $approaches, child := $child_id
    ) as f
    inner join observations as o on o.session_id = f.session_id
    inner join catalogue as c on c.measure = o.measure
    where o.goal_uid is not null
),

criteria as (
    -- a goal's own criterion where its text gives one ("80% in 3 consecutive sessions"), else the settings'
    select
        goal_uid,
        mastery_criterion,
        try_cast(regexp_extract(mastery_criterion, '(\d+(\.\d+)?)\s*%', 1) as double) as goal_percent,
        try_cast(regexp_extract(lower(mastery_criterion), '(\d+)\s+(consecutive\s+)?(sessions?|days?|probes?)', 1)
            as integer) as goal_sessions
    from goals
),

judged as (
    select
        f.*,
        coalesce(c.goal_percent, cast($mastery_percent as double)) as mastery_percent,
        coalesce(c.goal_sessions, cast($mastery_sessions as integer)) as mastery_sessions,
        case when c.goal_percent is not null or c.goal_sessions is not null then 'goal' else 'settings' end
            as mastery_from,
        c.mastery_criterion
    from filtered as f
    left join criteria as c using (goal_uid)
),

flagged as (
    select
        *,
        percent_correct >= mastery_percent as met_percent,
        row_number() over (partition by goal_uid order by order_key)
        - row_number() over (partition by goal_uid, percent_correct >= mastery_percent order by order_key) as island
    from judged
),

runs as (
    select
        *,
        case when met_percent
            then row_number() over (partition by goal_uid, met_percent, island order by order_key)
            else 0
        end as run_length
    from flagged
)

select
    goal_uid,
    goal_id,
    child_id,
    measure,
    session_id,
    session_date,
    approach,
    trials_correct,
    trials_total,
    percent_correct,
    mastery_percent,
    mastery_sessions,
    mastery_from,
    mastery_criterion,
    met_percent,
    run_length,
    run_length >= mastery_sessions as criterion_met
from runs
order by child_id, goal_id, order_key
