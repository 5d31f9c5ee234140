-- one row per exported row of one goals-source file: the goal (child x goal_id) typed and normalised (domain, measure, weight, dates, the mastery criterion read as percent and consecutive sessions) and the list of what is wrong with it
-- inputs: temp tables raw_rows (canonical text columns, _line) and value_synonyms (field, raw, value), table measure_definitions (measures.toml);
-- parameters: $date_format, $date_label, $today, $catalogue_name; whether the child is known is decided at every build (unlinked_rows)
with

trimmed as (
    select
        _line,
        nullif(trim(goal_id), '') as goal_id,
        nullif(trim(child_id), '') as child_id,
        nullif(trim(goal_text), '') as goal_text,
        nullif(trim(goal_domain), '') as goal_domain_raw,
        nullif(trim(level_m3), '') as level_m3,
        nullif(trim(level_m2), '') as level_m2,
        nullif(trim(level_m1), '') as level_m1,
        nullif(trim(level_0), '') as level_0,
        nullif(trim(level_p1), '') as level_p1,
        nullif(trim(level_p2), '') as level_p2,
        nullif(trim(baseline), '') as baseline,
        nullif(trim(target), '') as target,
        nullif(trim(mastery_criterion), '') as mastery_criterion,
        nullif(trim(measure), '') as measure_raw,
        nullif(trim(goal_weight), '') as goal_weight_raw,
        nullif(trim(start_date), '') as start_date_raw,
        nullif(trim(met_date), '') as met_date_raw,
        nullif(trim(discontinued_date), '') as discontinued_date_raw
    from raw_rows
),

synonyms as (
    select field, raw, value from value_synonyms
),

catalogue as (
    select measure, kind, level from measure_definitions
),

contract as (
    -- the goal domains of docs/contract.md (a profile maps other spellings onto these, or adds its own)
    select ['communication', 'motor', 'self-care', 'emotional regulation', 'social', 'play',
        'cognition', 'behaviour', 'feeding', 'sensory', 'anxiety'] as goal_domains
),

typed as (
    select
        t.*,
        coalesce(d.value, case when list_contains(c.goal_domains, spelling(t.goal_domain_raw))
            then spelling(t.goal_domain_raw) end) as goal_domain,
        c.goal_domains as contract_domains,
        coalesce(ms.value, t.measure_raw, 'gas') as measure,
        k.level as measure_level,
        k.measure as known,
        try_cast(t.goal_weight_raw as double) as goal_weight,
        parse_date(t.start_date_raw, $date_format) as start_date,
        parse_date(t.met_date_raw, $date_format) as met_date,
        parse_date(t.discontinued_date_raw, $date_format) as discontinued_date,
        try_cast(regexp_extract(t.mastery_criterion, '(\d+(\.\d+)?)\s*%', 1) as double) as mastery_percent,
        try_cast(regexp_extract(lower(t.mastery_criterion), '(\d+)\s+(consecutive\s+)?(sessions?|days?|probes?)', 1) as integer)
            as mastery_sessions
    from trimmed as t
    left join synonyms as d on d.field = 'goal_domain' and d.raw = spelling(t.goal_domain_raw)
    left join synonyms as ms on ms.field = 'measure' and ms.raw = spelling(t.measure_raw)
    left join catalogue as k on k.measure = coalesce(ms.value, t.measure_raw, 'gas')
    cross join contract as c
),

repeated as (
    select _line, min(_line) over (partition by child_id, goal_id) as first_line
    from typed
    where goal_id is not null and child_id is not null
    qualify count(*) over (partition by child_id, goal_id) > 1
),

checked as (
    select
        t.*,
        [e for e in [
            case when t.goal_id is null then {'column': 'goal_id', 'value': null, 'reason': 'required value missing'} end,
            case when t.child_id is null then {'column': 'child_id', 'value': null, 'reason': 'required value missing'} end,
            case when t.goal_domain_raw is not null and t.goal_domain is null then {'column': 'goal_domain',
                'value': t.goal_domain_raw, 'reason': 'unknown goal domain ''' || t.goal_domain_raw || ''' (expected one of '
                    || array_to_string(t.contract_domains, ', ') || ', or a synonym in the profile)'} end,
            case when t.known is null then {'column': 'measure', 'value': t.measure_raw,
                'reason': 'measure ''' || t.measure || ''' is not in the catalogue (' || $catalogue_name || ')'} end,
            case when t.known is not null and t.measure_level <> 'goal' then {'column': 'measure', 'value': t.measure_raw,
                'reason': 'measure ''' || t.measure || ''' is recorded per session, not per goal (a goal''s measure is gas, '
                    || 'goal_trials or another goal-level measure of the catalogue)'} end,
            case when t.goal_weight_raw is not null and (t.goal_weight is null or not isfinite(t.goal_weight)
                or t.goal_weight <= 0) then {'column': 'goal_weight', 'value': t.goal_weight_raw,
                'reason': 'goal weight must be a positive (finite) number'} end,
            case when t.start_date_raw is not null and t.start_date is null then {'column': 'start_date',
                'value': t.start_date_raw, 'reason': 'not a date (expected ' || $date_label || ')'} end,
            case when t.met_date_raw is not null and t.met_date is null then {'column': 'met_date',
                'value': t.met_date_raw, 'reason': 'not a date (expected ' || $date_label || ')'} end,
            case when t.discontinued_date_raw is not null and t.discontinued_date is null then {'column': 'discontinued_date',
                'value': t.discontinued_date_raw, 'reason': 'not a date (expected ' || $date_label || ')'} end,
            case when t.met_date < t.start_date then {'column': 'met_date', 'value': t.met_date_raw,
                'reason': 'goal met before it started (' || strftime(t.start_date, '%Y-%m-%d') || ')'} end,
            case when t.discontinued_date < t.start_date then {'column': 'discontinued_date', 'value': t.discontinued_date_raw,
                'reason': 'goal discontinued before it started (' || strftime(t.start_date, '%Y-%m-%d') || ')'} end,
            case when greatest(t.start_date, t.met_date, t.discontinued_date) > $today then {'column': 'start_date',
                'value': t.start_date_raw, 'reason': 'a goal date is in the future'} end,
            case when t.mastery_criterion is not null and (t.mastery_percent is null or t.mastery_percent > 100
                or t.mastery_sessions is null or t.mastery_sessions < 1) then {'column': 'mastery_criterion',
                'value': t.mastery_criterion, 'reason': 'mastery criterion not understood (write it as a percent and a number '
                    || 'of consecutive sessions, e.g. "80% in 3 consecutive sessions")'} end,
            case when rp.first_line is not null and t._line > rp.first_line then {'column': 'goal_id', 'value': t.goal_id,
                'reason': 'goal ' || t.goal_id || ' of ' || t.child_id || ' is also on line ' || rp.first_line
                    || ' of this file (line ' || rp.first_line || ' kept)'} end
        ] if e is not null] as errors
    from typed as t
    left join repeated as rp on rp._line = t._line
)

select
    _line as line,
    child_id || '/' || goal_id as goal_uid,
    child_id,
    goal_id,
    goal_text,
    goal_domain,
    level_m3,
    level_m2,
    level_m1,
    level_0,
    level_p1,
    level_p2,
    baseline,
    target,
    mastery_criterion,
    measure,
    goal_weight,
    start_date,
    met_date,
    discontinued_date,
    errors
from checked
