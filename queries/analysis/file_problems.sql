-- one row per problem found in a rejected row of one loaded file ($sha256), then per row of it loaded but not linked (column 'not linked'): file, line, column, value, reason, in line order
with

the_file as (
    select file_id
    from files
    where sha256 = $sha256
),

problems as (
    select r.file_name as file, r.line, r.column_name, r.value, r.reason, 0 as kind
    from rejects as r
    join the_file using (file_id)
    union all
    select u.file, u.line, 'not linked' as column_name, u.source as value, u.reason, 1 as kind
    from unlinked_rows as u
    join the_file using (file_id)
)

select file, line, column_name as "column", value, reason
from problems
order by kind, line, column_name
