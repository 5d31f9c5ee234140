-- one row per exported row of one sessions-source file: typed, normalised, with its measure observations (wide cells and the long-form measure) and the list of what is wrong with it
-- inputs: temp tables raw_rows (canonical text columns, measure_cells, _line) and value_synonyms (field, raw, value), table measure_definitions (measures.toml);
-- parameters: $date_format (strftime format, or 'ISO'), $date_label (the format as users write it), $today, $long_form (the file has value or trials columns),
-- $derive_start, $derive_step (session_date from session_number: session 1 on $derive_start, each next one $derive_step days later; null when not derived),
-- $derive_session_id (true: a row without a session_id is session child_id/session_number), $catalogue_name (the catalogue's file, for reasons)
with

catalogue as (
    -- the catalogue as one map (measure id -> its definition): each cell of a row looks its measure up
    select map(list(measure), list({'measure': measure, 'kind': kind, 'level': level, 'low': low, 'high': high,
        'step': step, 'rule': rule, 'attended_only': attended_only})) as definitions
    from measure_definitions
),

trimmed as (
    select
        _line,
        coalesce(nullif(trim(session_id), ''),
            case when $derive_session_id then nullif(trim(child_id), '') || '/' || nullif(trim(session_number), '') end
        ) as session_id,
        nullif(trim(child_id), '') as child_id,
        nullif(trim(therapist_id), '') as therapist_id,
        nullif(trim(team), '') as team,
        nullif(trim(session_date), '') as session_date_given,
        nullif(trim(session_number), '') as session_number_raw,
        nullif(trim(start_time), '') as start_time_raw,
        nullif(trim(modality), '') as modality_raw,
        nullif(trim(approach), '') as approach_raw,
        nullif(trim(date_of_birth), '') as date_of_birth_raw,
        nullif(trim(age_years), '') as age_years_raw,
        nullif(trim(attendance), '') as attendance_raw,
        nullif(trim(duration_min), '') as duration_min_raw,
        nullif(trim(setting), '') as setting_raw,
        nullif(trim(goal_id), '') as goal_id,
        nullif(trim(goal_domain), '') as goal_domain_raw,
        nullif(trim(goal_weight), '') as goal_weight_raw,
        nullif(trim(measure), '') as measure_raw,
        nullif(trim(value), '') as value_raw,
        nullif(trim(measure_score), '') as measure_score_raw,
        nullif(trim(trials_correct), '') as trials_correct_raw,
        nullif(trim(trials_total), '') as trials_total_raw,
        [{'measure': c.measure, 'column': c."column", 'raw': nullif(trim(c.raw), '')} for c in measure_cells] as cells
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
        coalesce(d.value, case when list_contains(c.goal_domains, spelling(t.goal_domain_raw))
            then spelling(t.goal_domain_raw) end) as goal_domain,
        c.goal_domains as contract_domains,
        -- the long-form measure: its catalogue id (trials without a measure are the default trials measure)
        coalesce(ms.value, case when t.measure_raw is null
            and (t.trials_correct_raw is not null or t.trials_total_raw is not null) then 'goal_trials' end) as measure_id,
        coalesce(t.value_raw, t.measure_score_raw) as long_value_raw,
        case when t.value_raw is not null then 'value' else 'measure_score' end as long_value_column,
        try_cast(t.session_number_raw as double) as session_number_num,
        parse_date(t.session_date_given, $date_format) as session_date_parsed,
        parse_date(t.date_of_birth_raw, $date_format) as date_of_birth,
        parse_time(t.start_time_raw) as start_time,
        try_cast(t.age_years_raw as double) as age_years_num,
        try_cast(t.duration_min_raw as double) as duration_num,
        try_cast(t.goal_weight_raw as double) as goal_weight_num
    from trimmed as t
    left join synonyms as m on m.field = 'modality' and m.raw = spelling(t.modality_raw)
    left join synonyms as a on a.field = 'approach' and a.raw = spelling(t.approach_raw)
    left join synonyms as att on att.field = 'attendance' and att.raw = spelling(t.attendance_raw)
    left join synonyms as s on s.field = 'setting' and s.raw = spelling(t.setting_raw)
    left join synonyms as d on d.field = 'goal_domain' and d.raw = spelling(t.goal_domain_raw)
    left join synonyms as ms on ms.field = 'measure' and ms.raw = spelling(t.measure_raw)
    cross join contract as c
),

dated as (
    select
        *,
        -- a derived date (research exports that number sessions): synthetic, only its order means anything
        case when $derive_start is not null and session_date_given is null then session_number_raw
            else session_date_given end as session_date_raw,
        coalesce(session_date_parsed,
            case when $derive_start is not null and session_date_given is null
                and session_number_num = round(session_number_num) and session_number_num between 0 and 100000
                then cast($derive_start as date) + cast((session_number_num - 1) * $derive_step as integer) end
        ) as session_date
    from typed
),

long_cells as (
    -- each cell of the row with its measure's definition: the wide cells (an empty cell too: it clears an older
    -- export's value) and the row's long-form measure (measure + value or measure_score, or trials) when it has one
    select
        d.*,
        [{'measure': c.measure, 'column': c."column", 'raw': c.raw, 'definition': k.definitions[c.measure]}
            for c in d.cells] as defined_cells,
        case when d.measure_id is not null or d.measure_raw is not null or d.long_value_raw is not null
            then k.definitions[coalesce(d.measure_id, d.measure_raw)] end as long_definition,
        d.measure_id is not null or d.measure_raw is not null or d.long_value_raw is not null as long_given
    from dated as d
    cross join catalogue as k
),

wide_checks as (
    -- the problems of the row's wide cells (cell_problem), computed on the row's own list: no unnest, group by or join back
    select
        *,
        [cell_problem(c.measure, c."column", c.raw, null::varchar, null::varchar, false, null::varchar,
            c.definition.measure, c.definition.kind, c.definition.low, c.definition.high, c.definition.step,
            c.definition.rule, c.definition.attended_only,
            case when c.definition.level = 'goal' then goal_id else '' end, attendance, $long_form, $catalogue_name)
         for c in defined_cells
         if cell_problem(c.measure, c."column", c.raw, null::varchar, null::varchar, false, null::varchar,
            c.definition.measure, c.definition.kind, c.definition.low, c.definition.high, c.definition.step,
            c.definition.rule, c.definition.attended_only,
            case when c.definition.level = 'goal' then goal_id else '' end, attendance, $long_form, $catalogue_name)
            is not null] as wide_problems,
        case when long_given then
            cell_problem(coalesce(measure_id, measure_raw), long_value_column, long_value_raw, trials_correct_raw,
                trials_total_raw, true, measure_raw, long_definition.measure, long_definition.kind, long_definition.low,
                long_definition.high, long_definition.step, long_definition.rule, long_definition.attended_only,
                case when long_definition.level = 'goal' then goal_id else '' end, attendance, $long_form,
                $catalogue_name)
        end as long_problem
    from long_cells
),

line_cells as (
    -- per row: the problems of its cells (by column) and its observations (the cells without a problem whose
    -- measure is in the catalogue, with a goal when it is recorded per goal)
    select
        *,
        case when long_problem is null then wide_problems
            else list_sort(wide_problems || [long_problem]) end as cell_problems,
        case when len(wide_problems) = 0 then
            [cell_observation(c.measure, case when c.definition.level = 'goal' then goal_id else '' end, goal_id,
                c.definition.kind, c.raw, null::varchar, null::varchar)
             for c in defined_cells
             if c.definition.kind is not null and case when c.definition.level = 'goal' then goal_id else '' end is not null]
        else
            [cell_observation(c.measure, case when c.definition.level = 'goal' then goal_id else '' end, goal_id,
                c.definition.kind, c.raw, null::varchar, null::varchar)
             for c in defined_cells
             if c.definition.kind is not null and case when c.definition.level = 'goal' then goal_id else '' end is not null
                and cell_problem(c.measure, c."column", c.raw, null::varchar, null::varchar, false, null::varchar,
                    c.definition.measure, c.definition.kind, c.definition.low, c.definition.high, c.definition.step,
                    c.definition.rule, c.definition.attended_only,
                    case when c.definition.level = 'goal' then goal_id else '' end, attendance, $long_form,
                    $catalogue_name) is null]
        end
        || case when long_given and long_problem is null and long_definition.kind is not null
                and case when long_definition.level = 'goal' then goal_id else '' end is not null then
            [cell_observation(coalesce(measure_id, measure_raw),
                case when long_definition.level = 'goal' then goal_id else '' end, goal_id, long_definition.kind,
                long_value_raw, trials_correct_raw, trials_total_raw)]
            else [] end as observations
    from wide_checks
),

keys as (
    -- each row's session, child and key in the file (session and goal and, in a long-form file, the measure), read
    -- from raw_rows again as trimmed and typed read them: the checks below group these narrow rows, so that the wide
    -- rows of typed are not materialised for them
    select
        r._line,
        coalesce(nullif(trim(r.session_id), ''),
            case when $derive_session_id then nullif(trim(r.child_id), '') || '/' || nullif(trim(r.session_number), '') end
        ) as session_id,
        nullif(trim(r.child_id), '') as child_id,
        coalesce(nullif(trim(r.goal_id), ''), '') || case when $long_form then chr(31) || coalesce(ms.value,
            case when nullif(trim(r.measure), '') is null and (nullif(trim(r.trials_correct), '') is not null
                or nullif(trim(r.trials_total), '') is not null) then 'goal_trials' end,
            nullif(trim(r.measure), ''), '') else '' end as row_key
    from raw_rows as r
    left join synonyms as ms on ms.field = 'measure' and ms.raw = spelling(nullif(trim(r.measure), ''))
),

conflicting_sessions as (
    -- sessions whose rows name more than one child (rare: a tiny table)
    select session_id, min(child_id) as first_child, max(child_id) as last_child
    from keys
    where session_id is not null
    group by session_id
    having min(child_id) <> max(child_id)
),

row_keys as (
    -- a row's key in the file: session and goal (and, in a long-form file, the measure)
    select _line, session_id, row_key
    from keys
    where session_id is not null
),

repeated_keys as (
    -- keys that occur on more than one line (rare: a tiny table)
    select session_id, row_key, min(_line) as first_key_line
    from row_keys
    group by session_id, row_key
    having count(*) > 1
),

repeated_rows as (
    -- among rows with a repeated key: the first line carrying the same full content (its fingerprint: a hash of
    -- the row as read, computed for these few rows only)
    select
        r._line,
        k.first_key_line,
        min(r._line) over (partition by r.session_id, r.row_key, hash(w.session_id, w.child_id, w.therapist_id, w.team,
            w.session_date, w.session_number, w.start_time, w.modality, w.approach, w.date_of_birth, w.age_years,
            w.attendance, w.duration_min, w.setting, w.goal_id, w.goal_domain, w.goal_weight, w.measure, w.value,
            w.measure_score, w.trials_correct, w.trials_total, w.measure_cells)) as first_copy_line
    from row_keys as r
    inner join repeated_keys as k using (session_id, row_key)
    inner join raw_rows as w on w._line = r._line
),

in_file as (
    select
        t.*,
        cs.first_child,
        cs.last_child,
        coalesce(r.first_copy_line, t._line) as first_copy_line,
        coalesce(r.first_key_line, t._line) as first_key_line
    from line_cells as t
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
            case when session_date_raw is null then {'column': case when $derive_start is not null then 'session_number'
                else 'session_date' end, 'value': null, 'reason': 'required value missing'} end,
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
            case when session_date_raw is not null and session_date is null and session_date_given is not null then
                {'column': 'session_date', 'value': session_date_raw, 'reason': 'not a date (expected ' || $date_label || ')'} end,
            case when session_date_raw is not null and session_date is null and session_date_given is null then
                {'column': 'session_number', 'value': session_date_raw,
                 'reason': 'session number must be a whole number from 0 to 100000 (the profile derives the session date from it)'} end,
            case when start_time_raw is not null and start_time is null then {'column': 'start_time', 'value': start_time_raw,
                'reason': 'not a time of day (expected hh:mm, e.g. 09:30 or 2:30 pm)'} end,
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
            case when first_child is not null then {'column': 'child_id', 'value': child_id,
                'reason': 'session ' || session_id || ' carries two different children (' || first_child || ', ' || last_child || ')'} end,
            case when _line > first_copy_line then {'column': null, 'value': null,
                'reason': 'exact duplicate of line ' || first_copy_line} end,
            case when _line = first_copy_line and _line > first_key_line then {'column': 'goal_id', 'value': goal_id,
                'reason': 'same session_id and goal_id' || case when $long_form then ' (and measure)' else '' end
                    || ' as line ' || first_key_line || ' with different values (line ' || first_key_line || ' kept)'} end
        ] if e is not null] || cell_problems as errors
    from in_file
)

select
    _line as line,
    session_id,
    goal_id,
    child_id,
    therapist_id,
    team,
    session_date,
    start_time,
    modality,
    approach,
    attendance,
    try_cast(duration_num as integer) as duration_min,
    setting,
    goal_domain,
    goal_weight_num as goal_weight,
    date_of_birth,
    try_cast(floor(age_years_num) as integer) as age_years,
    observations,
    errors
from checked
