-- one row per group x group2 ($by, $by2 = a column of group_value; child filter ignored: group figures) with a session or a goal rating in the filter: scheduled sessions and attended sessions (the sessions and attended of period_metrics, without its measure and goal figures)
with

session_groups as (
    select
        coalesce(group_value($by, modality, age_group, team, therapist_id, approach), 'all') as grp,
        coalesce(group_value($by2, modality, age_group, team, therapist_id, approach), 'all') as grp2,
        count(*) as sessions,
        count(*) filter (where attended) as attended
    from filtered_rows(
        'sessions',
        date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
        teams := $teams, therapists := $therapists, approaches := $approaches, child := null
    )
    group by all
),

-- period_metrics has a row for a group with goal ratings and no session: so has this
rating_groups as (
    select distinct
        coalesce(group_value($by, modality, age_group, team, therapist_id, approach), 'all') as grp,
        coalesce(group_value($by2, modality, age_group, team, therapist_id, approach), 'all') as grp2
    from filtered_rows(
        'goal_ratings',
        date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
        teams := $teams, therapists := $therapists, approaches := $approaches, child := null
    )
),

groups as (
    select grp, grp2 from session_groups
    union
    select grp, grp2 from rating_groups
)

select
    g.grp,
    g.grp2,
    coalesce(s.sessions, 0) as sessions,
    coalesce(s.attended, 0) as attended
from groups as g
left join session_groups as s on s.grp = g.grp and s.grp2 = g.grp2
order by g.grp, g.grp2
