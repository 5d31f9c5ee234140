-- one value per row: the place of the row's calendar group (calendar_value) in order (months in time, Monday first, morning first, 'not recorded' last); 0 for any other by_column
create or replace macro calendar_order(by_column, session_date, start_time) as
    case by_column
        when 'month' then year(session_date) * 100 + month(session_date)
        when 'weekday' then isodow(session_date)
        when 'time_of_day' then case
            when start_time is null then 9
            when hour(start_time) < 12 then 1
            when hour(start_time) < 15 then 2
            else 3
        end
        else 0
    end
