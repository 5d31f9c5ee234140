-- one row per problem found in a rejected export row, then per loaded row not linked (column 'not linked': no appointment or child to join it to): file, line, column, value, reason (first $limit, in file and line order)
with

problems as (
    select file_id, file_name, line, column_name, value, reason, 0 as kind
    from rejects
    union all
    select file_id, file, line, 'not linked', source, reason, 1 as kind
    from unlinked_rows
)

select
    file_name as file,
    line,
    column_name as column,
    value,
    reason
from problems
order by kind, file_id, line, column_name
limit coalesce($limit, 10000)
