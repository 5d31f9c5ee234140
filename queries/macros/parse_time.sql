-- one value per text: the time of day it writes (09:00, 9:00:00, 14:30, 2:30 pm, 9:00AM), null when it is no time
create or replace macro parse_time(raw) as
    coalesce(
        try_cast(raw as time),
        try_strptime(upper(raw), '%I:%M %p')::time,
        try_strptime(upper(raw), '%I:%M%p')::time
    )
