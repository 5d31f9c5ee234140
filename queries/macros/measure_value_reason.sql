-- one value per measure value: why it does not fit its measure in the catalogue (kind, range, grid; rule = the catalogue's rule in words), null when it fits; trials measures are checked by trials_reason
create or replace macro measure_value_reason(measure_id, kind, low, high, step, rule, raw, num) as
    case
        when kind = 'trials' then
            measure_id || ': a trials measure takes trials_correct and trials_total, not a single value'
        when num is null then
            measure_id || ': ''' || raw || ''' is not a number (' || rule || ')'
        when not isfinite(num) then
            measure_id || ': a value must be a finite number (got ' || raw || ')'
        when (low is not null and num < low) or (high is not null and num > high) then
            measure_id || ': ' || rule || ' (got ' || raw || ')'
        when step is not null
            and abs((num - coalesce(low, 0)) / step - round((num - coalesce(low, 0)) / step)) > 1e-9 then
            measure_id || ': ' || rule || ' (got ' || raw || ')'
    end
