-- one value per pair of trial counts: why they do not make a trials value (whole numbers, a total of 1 or more, correct from 0 to the total; rule = the catalogue's rule in words), null when they do
create or replace macro trials_reason(measure_id, rule, correct_raw, total_raw, correct, total) as
    case
        when correct_raw is null and total_raw is null then
            measure_id || ': no trials given (' || rule || ')'
        when total_raw is null then
            measure_id || ': ' || correct_raw || ' trials correct but no trials_total (' || rule || ')'
        when correct_raw is null then
            measure_id || ': a trials_total of ' || total_raw || ' but no trials_correct (' || rule || ')'
        when correct is null or total is null or not isfinite(correct) or not isfinite(total)
            or correct <> round(correct) or total <> round(total) or total < 1 or correct < 0 or correct > total then
            measure_id || ': ' || rule || ' (got ' || correct_raw || ' correct of ' || total_raw || ')'
    end
