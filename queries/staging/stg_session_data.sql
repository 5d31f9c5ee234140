-- one row per exported row of one session-data file (a data-collection app, a therapist's spreadsheet): the session it refers to (session_ref: the appointment id, else child_id|session_date|start_time), what it says of the session (approach, therapist, setting), its measure observations and the list of what is wrong with it (session_ref: appointment_id#child_id when the row names its appointment, so a row of another child never replaces one of this child)
-- inputs: temp tables raw_rows (canonical text columns, measure_cells, _line) and value_synonyms (field, raw, value), table measure_definitions (measures.toml);
-- parameters: $date_format, $date_label, $today, $long_form, $catalogue_name (as in stg_sessions); whether a measure fits an attended session is decided when the row is linked (int_session_links)
with

trimmed as (
    select
        _line,
        nullif(trim(session_id), '') as session_id,
        nullif(trim(child_id), '') as child_id,
        nullif(trim(therapist_id), '') as therapist_id,
        nullif(trim(session_date), '') as session_date_raw,
        nullif(trim(start_time), '') as start_time_raw,
        nullif(trim(approach), '') as approach_raw,
        nullif(trim(setting), '') as setting_raw,
        nullif(trim(goal_id), '') as goal_id,
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

catalogue as (
    select measure, kind, level, low, high, step, rule from measure_definitions
),

typed as (
    select
        t.*,
        a.value as approach,
        s.value as setting,
        coalesce(ms.value, case when t.measure_raw is null
            and (t.trials_correct_raw is not null or t.trials_total_raw is not null) then 'goal_trials' end) as measure_id,
        coalesce(t.value_raw, t.measure_score_raw) as long_value_raw,
        case when t.value_raw is not null then 'value' else 'measure_score' end as long_value_column,
        parse_date(t.session_date_raw, $date_format) as session_date,
        parse_time(t.start_time_raw) as start_time
    from trimmed as t
    left join synonyms as a on a.field = 'approach' and a.raw = spelling(t.approach_raw)
    left join synonyms as s on s.field = 'setting' and s.raw = spelling(t.setting_raw)
    left join synonyms as ms on ms.field = 'measure' and ms.raw = spelling(t.measure_raw)
),

wide_unnested as (
    select _line, goal_id, unnest(cells) as cell
    from typed
),

cells as (
    -- the row's wide measure cells (an empty one clears an older export's value) and its long-form measure
    select _line, goal_id, null::varchar as measure_raw, cell.measure as measure_id, cell."column" as column_name,
        cell.raw as raw, null::varchar as correct_raw, null::varchar as total_raw, false as long_form_cell
    from wide_unnested
    union all
    select _line, goal_id, measure_raw, coalesce(measure_id, measure_raw) as measure_id, long_value_column as column_name,
        long_value_raw as raw, trials_correct_raw as correct_raw, trials_total_raw as total_raw, true as long_form_cell
    from typed
    where measure_id is not null or measure_raw is not null or long_value_raw is not null
        or trials_correct_raw is not null or trials_total_raw is not null
),

cell_values as (
    select
        c.*,
        k.measure as known,
        k.kind,
        k.low,
        k.high,
        k.step,
        k.rule,
        case when k.level = 'goal' then c.goal_id else '' end as goal_key,
        try_cast(c.raw as double) as num,
        try_cast(c.correct_raw as double) as correct_num,
        try_cast(c.total_raw as double) as total_num,
        c.raw is not null or c.correct_raw is not null or c.total_raw is not null as given
    from cells as c
    left join catalogue as k on k.measure = c.measure_id
),

cell_problems as (
    -- the first problem of each cell: its measure, its value for the measure's kind, its goal
    select
        *,
        case
            when measure_id is null then
                {'column': 'measure', 'value': null, 'reason': 'value given without the measure name'}
            when known is null and (long_form_cell or raw is not null) then
                {'column': case when long_form_cell then 'measure' else column_name end,
                 'value': case when long_form_cell then measure_raw else raw end,
                 'reason': 'measure ''' || measure_id || ''' is not in the catalogue (' || $catalogue_name || ')'}
            when kind = 'trials' and (correct_raw is not null or total_raw is not null)
                and trials_reason(measure_id, rule, correct_raw, total_raw, correct_num, total_num) is not null then
                {'column': case when total_raw is null or total_num is null or total_num < 1 or total_num <> round(total_num)
                     then 'trials_total' else 'trials_correct' end,
                 'value': coalesce(correct_raw, '') || ' of ' || coalesce(total_raw, ''),
                 'reason': trials_reason(measure_id, rule, correct_raw, total_raw, correct_num, total_num)}
            when kind <> 'trials' and (correct_raw is not null or total_raw is not null) then
                {'column': 'trials_correct', 'value': coalesce(correct_raw, '') || ' of ' || coalesce(total_raw, ''),
                 'reason': measure_id || ' is a ' || kind || ' measure: trials_correct and trials_total are for trials measures'}
            when raw is null and correct_raw is null and total_raw is null and long_form_cell and kind is not null then
                {'column': case when kind = 'trials' then 'trials_total' else 'value' end, 'value': null,
                 'reason': 'no value for measure ''' || measure_id || ''' (a long-form row gives one measure''s value; '
                     || 'leave the row out when nothing was measured)'}
            when raw is not null and measure_value_reason(measure_id, kind, low, high, step, rule, raw, num) is not null then
                {'column': column_name, 'value': raw,
                 'reason': measure_value_reason(measure_id, kind, low, high, step, rule, raw, num)}
            when given and kind is not null and goal_key is null then
                {'column': 'goal_id', 'value': null,
                 'reason': measure_id || ' given without a goal_id (' || measure_id || ' is recorded per goal)'}
        end as problem
    from cell_values
),

line_cells as (
    select
        _line,
        list(problem order by problem.column) filter (where problem is not null) as problems,
        list({'measure': measure_id, 'goal_key': goal_key, 'goal_id': case when goal_key <> '' then goal_id end,
              'value': case when kind = 'trials' and given then 100.0 * correct_num / total_num
                  when kind <> 'trials' then num end,
              'trials_correct': case when kind = 'trials' then cast(correct_num as integer) end,
              'trials_total': case when kind = 'trials' then cast(total_num as integer) end})
            filter (where problem is null and kind is not null and goal_key is not null) as observations,
        count(*) as n_cells
    from cell_problems
    group by _line
),

refs as (
    select
        t.*,
        coalesce(t.session_id || '#' || t.child_id, t.child_id || '|' || strftime(t.session_date, '%Y-%m-%d') || '|'
            || coalesce(left(cast(t.start_time as varchar), 5), '')) as session_ref,
        coalesce(lc.problems, []) as cell_problems,
        coalesce(lc.observations, []) as observations,
        coalesce(lc.n_cells, 0) as n_cells
    from typed as t
    left join line_cells as lc on lc._line = t._line
),

row_keys as (
    -- a long-form row's key in the file: session, goal and measure
    select _line, session_ref, coalesce(goal_id, '') || chr(31) || coalesce(measure_id, measure_raw, '') as row_key
    from refs
    where $long_form and session_ref is not null
),

repeated as (
    select _line, min(_line) over (partition by session_ref, row_key) as first_line
    from row_keys
    qualify count(*) over (partition by session_ref, row_key) > 1
),

checked as (
    select
        r.*,
        [e for e in [
            case when r.child_id is null then {'column': 'child_id', 'value': null, 'reason': 'required value missing'} end,
            case when r.session_date_raw is null and r.session_id is null then {'column': 'session_date', 'value': null,
                'reason': 'required value missing (a session date, or the appointment id)'} end,
            case when r.session_date_raw is not null and r.session_date is null then {'column': 'session_date',
                'value': r.session_date_raw, 'reason': 'not a date (expected ' || $date_label || ')'} end,
            case when r.session_date > $today then {'column': 'session_date', 'value': r.session_date_raw,
                'reason': 'session date is in the future'} end,
            case when r.start_time_raw is not null and r.start_time is null then {'column': 'start_time',
                'value': r.start_time_raw, 'reason': 'not a time of day (expected hh:mm, e.g. 09:30 or 2:30 pm)'} end,
            case when r.approach_raw is not null and r.approach is null then {'column': 'approach', 'value': r.approach_raw,
                'reason': 'unknown approach ''' || r.approach_raw || ''' (expected child-led, directed or mixed)'} end,
            case when r.setting_raw is not null and r.setting is null then {'column': 'setting', 'value': r.setting_raw,
                'reason': 'unknown setting ''' || r.setting_raw || ''' (expected clinic, home, school, telehealth or community)'} end,
            case when r.n_cells = 0 then {'column': 'value', 'value': null,
                'reason': 'no measure in this row (a session-data row gives a measure and its value, or trials)'} end,
            case when rp.first_line is not null and r._line > rp.first_line then {'column': 'measure', 'value': r.measure_raw,
                'reason': 'same session, goal and measure as line ' || rp.first_line || ' (line ' || rp.first_line || ' kept)'} end
        ] if e is not null] || r.cell_problems as errors
    from refs as r
    left join repeated as rp on rp._line = r._line
)

select
    _line as line,
    session_ref,
    session_id,
    child_id,
    session_date,
    start_time,
    approach,
    therapist_id,
    setting,
    observations,
    errors
from checked
