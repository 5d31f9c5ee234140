-- one value per measure cell of a sessions row that has no problem (cell_problem) and a measure in the catalogue: its observation {measure, goal_key, goal_id, value, trials_correct, trials_total} (a null value clears an older export's); kind = the catalogue's kind, goal_key as for cell_problem
create or replace macro cell_observation(measure_id, goal_key, goal_id, kind, raw, correct_raw, total_raw) as
    {'measure': measure_id, 'goal_key': goal_key, 'goal_id': case when goal_key <> '' then goal_id end,
     'value': case when kind = 'trials' and (raw is not null or correct_raw is not null or total_raw is not null)
             then 100.0 * try_cast(correct_raw as double) / try_cast(total_raw as double)
         when kind <> 'trials' then try_cast(raw as double) end,
     'trials_correct': case when kind = 'trials' then cast(try_cast(correct_raw as double) as integer) end,
     'trials_total': case when kind = 'trials' then cast(try_cast(total_raw as double) as integer) end}
