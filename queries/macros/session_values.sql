-- one row per session with a value of the session-level measure measure_id in the observations mart: session_id and value, e.g. its engagement rating (mart_name is an argument so that the mart is found where the macro is used, e.g. a scoped reader's)
create or replace macro session_values(measure_id, mart_name := 'observations') as table
select session_id, value
from query_table(mart_name)
where measure = measure_id and goal_id is null
