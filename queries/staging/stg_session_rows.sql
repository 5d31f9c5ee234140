-- one row per exported row of one file: typed, normalised, with the list of what is wrong with it
-- inputs: temp tables raw_rows (canonical text columns + _line) and value_synonyms (field, raw, value);
-- parameters: $date_format (strftime format, or 'ISO' for ISO dates only), $date_label (the format as users write it), $today
with

trimmed as (
    select
        _line,
        nullif(trim(session_id), '') as session_id,
        nullif(trim(child_id), '') as child_id,
        nullif(trim(therapist_id), '') as therapist_id,
        nullif(trim(team), '') as team,
        nullif(trim(session_date), '') as session_date_raw,
        nullif(trim(modality), '') as modality_raw,
        nullif(trim(approach), '') as approach_raw,
        nullif(trim(date_of_birth), '') as date_of_birth_raw,
        nullif(trim(age_years), '') as age_years_raw,
        nullif(trim(attendance), '') as attendance_raw,
        nullif(trim(duration_min), '') as duration_min_raw,
        nullif(trim(setting), '') as setting_raw,
        nullif(trim(engagement), '') as engagement_raw,
        nullif(trim(goal_id), '') as goal_id,
        nullif(trim(goal_domain), '') as goal_domain_raw,
        nullif(trim(gas_level), '') as gas_level_raw,
        nullif(trim(goal_weight), '') as goal_weight_raw,
        nullif(trim(measure), '') as measure,
        nullif(trim(measure_score), '') as measure_score_raw,
        hash(session_id, child_id, therapist_id, team, session_date, modality,
            approach, date_of_birth, age_years, attendance, duration_min, setting, engagement,
            goal_id, goal_domain, gas_level, goal_weight, measure, measure_score) as row_fingerprint
    from raw_rows
),

synonyms as (
    select field, raw, value from value_synonyms
),

contract as (
    -- the goal domains of docs/contract.md (a profile maps other spellings onto these, or adds its own)
    select ['communication', 'motor', 'self-care', 'emotional regulation', 'social', 'play',
        'cognition', 'behaviour', 'feeding', 'sensory', 'anxiety'] as goal_domains
),

typed as (
    select
        t.*,
        m.value as modality,
        a.value as approach,
        coalesce(att.value, case when t.attendance_raw is null then 'attended' end) as attendance,
        s.value as setting,
        coalesce(d.value, case when list_contains(c.goal_domains, lower(replace(t.goal_domain_raw, '  ', ' ')))
            then lower(replace(t.goal_domain_raw, '  ', ' ')) end) as goal_domain,
        c.goal_domains as contract_domains,
        coalesce(
            case when $date_format <> 'ISO' then try_strptime(t.session_date_raw, $date_format)::date end,
            case when regexp_full_match(t.session_date_raw, '\d{4}-\d{1,2}-\d{1,2}([ T][0-9:.]+)?')
                then try_cast(split_part(replace(t.session_date_raw, 'T', ' '), ' ', 1) as date) end
        ) as session_date,
        coalesce(
            case when $date_format <> 'ISO' then try_strptime(t.date_of_birth_raw, $date_format)::date end,
            case when regexp_full_match(t.date_of_birth_raw, '\d{4}-\d{1,2}-\d{1,2}([ T][0-9:.]+)?')
                then try_cast(split_part(replace(t.date_of_birth_raw, 'T', ' '), ' ', 1) as date) end
        ) as date_of_birth,
        try_cast(t.age_years_raw as double) as age_years_num,
        try_cast(t.duration_min_raw as double) as duration_num,
        try_cast(t.engagement_raw as double) as engagement_num,
        try_cast(t.gas_level_raw as double) as gas_level_num,
        try_cast(t.goal_weight_raw as double) as goal_weight_num,
        try_cast(t.measure_score_raw as double) as measure_score
    from trimmed as t
    left join synonyms as m on m.field = 'modality' and m.raw = lower(replace(t.modality_raw, '  ', ' '))
    left join synonyms as a on a.field = 'approach' and a.raw = lower(replace(t.approach_raw, '  ', ' '))
    left join synonyms as att on att.field = 'attendance' and att.raw = lower(replace(t.attendance_raw, '  ', ' '))
    left join synonyms as s on s.field = 'setting' and s.raw = lower(replace(t.setting_raw, '  ', ' '))
    left join synonyms as d on d.field = 'goal_domain' and d.raw = lower(replace(t.goal_domain_raw, '  ', ' '))
    cross join contract as c
),

conflicting_sessions as (
    -- sessions whose rows name more than one child (rare: a tiny table)
    select session_id, min(child_id) as first_child, max(child_id) as last_child
    from typed
    where session_id is not null
    group by session_id
    having min(child_id) <> max(child_id)
),

repeated_keys as (
    -- (session_id, goal_id) keys that occur on more than one line (rare: a tiny table)
    select session_id, coalesce(goal_id, '') as goal_key, min(_line) as first_key_line
    from typed
    where session_id is not null
    group by session_id, coalesce(goal_id, '')
    having count(*) > 1
),

repeated_rows as (
    -- among rows with a repeated key: the first line carrying the same full content
    select
        t._line,
        k.first_key_line,
        min(t._line) over (partition by t.session_id, k.goal_key, t.row_fingerprint) as first_copy_line
    from typed as t
    inner join repeated_keys as k
        on k.session_id = t.session_id and k.goal_key = coalesce(t.goal_id, '')
),

in_file as (
    select
        t.*,
        cs.first_child,
        cs.last_child,
        coalesce(r.first_copy_line, t._line) as first_copy_line,
        coalesce(r.first_key_line, t._line) as first_key_line
    from typed as t
    left join conflicting_sessions as cs on cs.session_id = t.session_id
    left join repeated_rows as r on r._line = t._line
),

checked as (
    select
        *,
        [e for e in [
            case when session_id is null then {'column': 'session_id', 'value': null, 'reason': 'required value missing'} end,
            case when child_id is null then {'column': 'child_id', 'value': null, 'reason': 'required value missing'} end,
            case when therapist_id is null then {'column': 'therapist_id', 'value': null, 'reason': 'required value missing'} end,
            case when session_date_raw is null then {'column': 'session_date', 'value': null, 'reason': 'required value missing'} end,
            case when modality_raw is null then {'column': 'modality', 'value': null, 'reason': 'required value missing'} end,
            case when approach_raw is null then {'column': 'approach', 'value': null, 'reason': 'required value missing'} end,
            case when modality_raw is not null and modality is null then {'column': 'modality', 'value': modality_raw,
                'reason': 'unknown modality ''' || modality_raw || ''' (expected CBT, OT, speech or play, or a synonym in the profile)'} end,
            case when approach_raw is not null and approach is null then {'column': 'approach', 'value': approach_raw,
                'reason': 'unknown approach ''' || approach_raw || ''' (expected child-led, directed or mixed)'} end,
            case when attendance_raw is not null and attendance is null then {'column': 'attendance', 'value': attendance_raw,
                'reason': 'unknown attendance ''' || attendance_raw || ''' (expected attended, cancelled, late-cancelled, no-show or clinician-cancelled)'} end,
            case when setting_raw is not null and setting is null then {'column': 'setting', 'value': setting_raw,
                'reason': 'unknown setting ''' || setting_raw || ''' (expected clinic, home, school, telehealth or community)'} end,
            case when session_date_raw is not null and session_date is null then {'column': 'session_date', 'value': session_date_raw,
                'reason': 'not a date (expected ' || $date_label || ')'} end,
            case when date_of_birth_raw is not null and date_of_birth is null then {'column': 'date_of_birth', 'value': date_of_birth_raw,
                'reason': 'not a date (expected ' || $date_label || ')'} end,
            case when session_date > $today then {'column': 'session_date', 'value': session_date_raw,
                'reason': 'session date is in the future'} end,
            case when session_date < date_of_birth then {'column': 'session_date', 'value': session_date_raw,
                'reason': 'session date is before the date of birth (' || strftime(date_of_birth, '%Y-%m-%d') || ')'} end,
            case when date_of_birth > $today then {'column': 'date_of_birth', 'value': date_of_birth_raw,
                'reason': 'date of birth is in the future'} end,
            case when date_of_birth < date '1900-01-01' then {'column': 'date_of_birth', 'value': date_of_birth_raw,
                'reason': 'date of birth before 1900 is not plausible'} end,
            case when date_of_birth >= date '1900-01-01' and session_date >= date_of_birth
                and datepart('year', age(session_date, date_of_birth)) > 25 then
                {'column': 'date_of_birth', 'value': date_of_birth_raw,
                'reason': 'the child would be ' || datepart('year', age(session_date, date_of_birth))
                    || ' years old at the session (ages 0 to 25 are accepted)'} end,
            case when age_years_raw is not null and (age_years_num is null or age_years_num < 0 or age_years_num > 25) then
                {'column': 'age_years', 'value': age_years_raw, 'reason': 'age must be a number of years from 0 to 25'} end,
            case when engagement_raw is not null and (engagement_num is null or engagement_num <> round(engagement_num)
                or engagement_num < 1 or engagement_num > 5) then
                {'column': 'engagement', 'value': engagement_raw, 'reason': 'engagement must be a whole number from 1 to 5'} end,
            case when engagement_raw is not null and attendance is not null and attendance <> 'attended' then
                {'column': 'engagement', 'value': engagement_raw, 'reason': 'engagement rated for a session that was not attended (' || attendance || ')'} end,
            case when gas_level_raw is not null and (gas_level_num is null or gas_level_num <> round(gas_level_num)
                or gas_level_num < -3 or gas_level_num > 2) then
                {'column': 'gas_level', 'value': gas_level_raw, 'reason': 'GAS level must be a whole number from -3 to +2'} end,
            case when gas_level_raw is not null and goal_id is null then
                {'column': 'goal_id', 'value': null, 'reason': 'GAS level given without a goal_id'} end,
            case when goal_weight_raw is not null and (goal_weight_num is null or not isfinite(goal_weight_num)
                or goal_weight_num <= 0) then
                {'column': 'goal_weight', 'value': goal_weight_raw, 'reason': 'goal weight must be a positive (finite) number'} end,
            case when goal_domain_raw is not null and goal_domain is null then {'column': 'goal_domain', 'value': goal_domain_raw,
                'reason': 'unknown goal domain ''' || goal_domain_raw || ''' (expected one of '
                    || array_to_string(contract_domains, ', ') || ', or a synonym in the profile)'} end,
            case when duration_min_raw is not null and (duration_num is null or not isfinite(duration_num)
                or duration_num <> round(duration_num) or duration_num < 1 or duration_num > 600) then
                {'column': 'duration_min', 'value': duration_min_raw,
                'reason': 'duration must be whole minutes from 1 to 600 (the contract''s integer minutes)'} end,
            case when measure_score_raw is not null and (measure_score is null or not isfinite(measure_score)) then
                {'column': 'measure_score', 'value': measure_score_raw, 'reason': 'measure score must be a finite number'} end,
            case when measure_score_raw is not null and measure is null then
                {'column': 'measure', 'value': null, 'reason': 'measure score given without the measure name'} end,
            case when first_child is not null then {'column': 'child_id', 'value': child_id,
                'reason': 'session ' || session_id || ' carries two different children (' || first_child || ', ' || last_child || ')'} end,
            case when _line > first_copy_line then {'column': null, 'value': null,
                'reason': 'exact duplicate of line ' || first_copy_line} end,
            case when _line = first_copy_line and _line > first_key_line then {'column': 'goal_id', 'value': goal_id,
                'reason': 'same session_id and goal_id as line ' || first_key_line || ' with different values (line ' || first_key_line || ' kept)'} end
        ] if e is not null] as errors
    from in_file
)

select
    _line as line,
    session_id,
    coalesce(goal_id, '') as goal_key,
    goal_id,
    child_id,
    therapist_id,
    team,
    session_date,
    modality,
    approach,
    attendance,
    try_cast(duration_num as integer) as duration_min,
    setting,
    try_cast(engagement_num as tinyint) as engagement,
    goal_domain,
    try_cast(gas_level_num as tinyint) as gas_level,
    case when goal_id is not null then coalesce(goal_weight_num, 1.0) end as goal_weight,
    measure,
    measure_score,
    date_of_birth,
    try_cast(floor(age_years_num) as integer) as age_years,
    row_fingerprint,
    errors
from checked
