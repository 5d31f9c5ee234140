-- one row per problem found in a rejected export row: file, line, column, value, reason (first $limit, in file and line order)
with

problems as (
    select file_id, file_name, line, column_name, value, reason
    from rejects
)

select
    file_name as file,
    line,
    column_name as column,
    value,
    reason
from problems
order by file_id, line, column_name
limit coalesce($limit, 10000)
