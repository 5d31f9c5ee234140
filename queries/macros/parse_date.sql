-- one value per text: the date it writes in date_format (a strftime format, or 'ISO' when the file writes ISO dates only; an ISO date is read either way), null when it is no date
create or replace macro parse_date(raw, date_format) as
    coalesce(
        case when date_format <> 'ISO' then try_strptime(raw, date_format)::date end,
        case when regexp_full_match(raw, '\d{4}-\d{1,2}-\d{1,2}([ T][0-9:.]+)?')
            then try_cast(split_part(replace(raw, 'T', ' '), ' ', 1) as date) end
    )
