-- one value per measure cell of a sessions row: its first problem ({column, value, reason}: its measure, its value for the measure's kind, its goal, its session's attendance), null when it has none; known..attended_only = the catalogue's definition of the measure (all null when it is not in the catalogue), goal_key = the goal_id of a goal-level measure ('' for a session-level one), long_form = the file has value or trials columns
create or replace macro cell_problem(measure_id, column_name, raw, correct_raw, total_raw, long_form_cell, measure_raw,
        known, kind, low, high, step, rule, attended_only, goal_key, attendance, long_form, catalogue_name) as
    case
        when measure_id is null then
            {'column': 'measure', 'value': null::varchar,
             'reason': case when column_name = 'value' then 'value given without the measure name'
                 else 'measure score given without the measure name' end}
        when known is null and (long_form_cell or raw is not null) then
            {'column': case when long_form_cell then 'measure' else column_name end,
             'value': case when long_form_cell then measure_raw else raw end,
             'reason': 'measure ''' || measure_id || ''' is not in the catalogue (' || catalogue_name || ')'}
        when kind = 'trials' and (correct_raw is not null or total_raw is not null)
            and trials_reason(measure_id, rule, correct_raw, total_raw, try_cast(correct_raw as double),
                try_cast(total_raw as double)) is not null then
            {'column': case when total_raw is null or try_cast(total_raw as double) is null
                 or try_cast(total_raw as double) < 1
                 or try_cast(total_raw as double) <> round(try_cast(total_raw as double)) then 'trials_total'
                 else 'trials_correct' end,
             'value': coalesce(correct_raw, '') || ' of ' || coalesce(total_raw, ''),
             'reason': trials_reason(measure_id, rule, correct_raw, total_raw, try_cast(correct_raw as double),
                 try_cast(total_raw as double))}
        when kind <> 'trials' and (correct_raw is not null or total_raw is not null) then
            {'column': 'trials_correct', 'value': coalesce(correct_raw, '') || ' of ' || coalesce(total_raw, ''),
             'reason': measure_id || ' is a ' || kind || ' measure: trials_correct and trials_total are for trials measures'}
        when raw is null and correct_raw is null and total_raw is null and long_form_cell and long_form
            and kind is not null then
            {'column': case when kind = 'trials' then 'trials_total' else 'value' end, 'value': null::varchar,
             'reason': 'no value for measure ''' || measure_id || ''' (a long-form row gives one measure''s value; '
                 || 'leave the row out when nothing was measured)'}
        when raw is not null
            and measure_value_reason(measure_id, kind, low, high, step, rule, raw, try_cast(raw as double)) is not null then
            {'column': column_name, 'value': raw,
             'reason': measure_value_reason(measure_id, kind, low, high, step, rule, raw, try_cast(raw as double))}
        when (raw is not null or correct_raw is not null or total_raw is not null) and kind is not null
            and goal_key is null then
            {'column': 'goal_id', 'value': null::varchar,
             'reason': measure_id || ' given without a goal_id (' || measure_id || ' is recorded per goal)'}
        when (raw is not null or correct_raw is not null or total_raw is not null) and kind is not null
            and attended_only and attendance <> 'attended' then
            {'column': case when raw is not null then column_name else 'trials_correct' end,
             'value': coalesce(raw, correct_raw),
             'reason': measure_id || ' recorded for a session that was not attended (' || attendance || ')'}
    end
