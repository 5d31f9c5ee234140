-- one value per row: the row's calendar group named by by_column ('month' 'YYYY-MM', 'weekday' Monday..Sunday, 'time_of_day' a band of the start time, 'not recorded' without one), null for any other name
create or replace macro calendar_value(by_column, session_date, start_time) as
    case by_column
        when 'month' then strftime(date_trunc('month', session_date), '%Y-%m')
        when 'weekday' then dayname(session_date)
        when 'time_of_day' then case
            when start_time is null then 'not recorded'
            when hour(start_time) < 12 then 'morning (before 12:00)'
            when hour(start_time) < 15 then 'early afternoon (12:00-14:59)'
            else 'after school (15:00 and later)'
        end
    end
