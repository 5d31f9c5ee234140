-- one row per child with a session matching the filters: the kind of the discharge that ended its episode of care within the same dates (planned | dropped_out | other; null when none did), from the children mart
with

seen as (
    select distinct child_id
    from filtered_rows(
        'sessions',
        date_from := $date_from, date_to := $date_to, modalities := $modalities, age_groups := $age_groups,
        teams := $teams, therapists := $therapists, approaches := $approaches, child := $child_id
    )
),

ended as (
    select child_id, discharge_kind
    from children
    where discharge_date between coalesce($date_from, date '0001-01-01') and coalesce($date_to, date '9999-12-31')
)

select
    s.child_id,
    case
        when e.child_id is null then null
        when e.discharge_kind in ('planned', 'dropped_out') then e.discharge_kind
        else 'other'
    end as discharge_kind
from seen as s
left join ended as e using (child_id)
order by s.child_id
