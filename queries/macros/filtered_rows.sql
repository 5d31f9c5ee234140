-- one row per row of the mart named by mart_name ('sessions', 'goal_ratings' or 'measures') that matches the page filters; a null argument does not filter (every argument must be given: a query that ignores a filter passes null and says why in its first line)
create or replace macro filtered_rows(
    mart_name,
    date_from,      -- first session date (inclusive)
    date_to,        -- last session date (inclusive)
    modalities,     -- list of modalities
    age_groups,     -- list of age groups (at the session date)
    teams,          -- list of teams
    therapists,     -- list of therapist ids
    approaches,     -- list of approaches
    child           -- one child id
) as table
select *
from query_table(mart_name)
where (date_from is null or session_date >= date_from)
    and (date_to is null or session_date <= date_to)
    and (modalities is null or list_contains(modalities, modality))
    and (age_groups is null or list_contains(age_groups, age_group))
    and (teams is null or list_contains(teams, team))
    and (therapists is null or list_contains(therapists, therapist_id))
    and (approaches is null or list_contains(approaches, approach))
    and (child is null or child_id = child)
