-- one row per exported row of one appointments-source file: the appointment typed and normalised (status -> attendance, service code -> modality, the profile's removed rule) and the list of what is wrong with it
-- inputs: temp tables raw_rows (canonical text columns, _line), value_synonyms (field, raw, value), service_codes (code, therapist_id or '' for all, modality);
-- parameters: $date_format, $date_label (as in stg_sessions), $today, $removed_values (the normalised spellings of the removed column that mean removed; empty: no rule)
with

trimmed as (
    select
        _line,
        nullif(trim(session_id), '') as session_id,
        nullif(trim(child_id), '') as child_id,
        nullif(trim(therapist_id), '') as therapist_id,
        nullif(trim(team), '') as team,
        nullif(trim(session_date), '') as session_date_raw,
        nullif(trim(start_time), '') as start_time_raw,
        nullif(trim(modality), '') as modality_raw,
        nullif(trim(service_code), '') as service_code,
        nullif(trim(approach), '') as approach_raw,
        nullif(trim(date_of_birth), '') as date_of_birth_raw,
        nullif(trim(attendance), '') as attendance_raw,
        nullif(trim(duration_min), '') as duration_min_raw,
        nullif(trim(setting), '') as setting_raw,
        nullif(trim(removed_flag), '') as removed_raw
    from raw_rows
),

synonyms as (
    select field, raw, value from value_synonyms
),

codes as (
    select code, therapist_id, modality from service_codes
),

typed as (
    select
        t.*,
        m.value as modality_named,
        coalesce(own.modality, every.modality) as modality_coded,
        a.value as approach,
        att.value as attendance_named,
        s.value as setting,
        coalesce(list_contains($removed_values, spelling(t.removed_raw)), false) as removed,
        parse_date(t.session_date_raw, $date_format) as session_date,
        parse_time(t.start_time_raw) as start_time_parsed,
        parse_date(t.date_of_birth_raw, $date_format) as date_of_birth,
        try_cast(t.duration_min_raw as double) as duration_num,
        -- a date-and-time column (WebPT's start_date): its time part, when no start time is given
        case when regexp_full_match(t.session_date_raw, '.*\d{1,2}:\d{2}(:\d{2})?( ?[AaPp][Mm])?')
            then parse_time(regexp_extract(t.session_date_raw, '(\d{1,2}:\d{2}(:\d{2})?( ?[AaPp][Mm])?)$', 1)) end
            as start_time_in_date
    from trimmed as t
    left join synonyms as m on m.field = 'modality' and m.raw = spelling(t.modality_raw)
    left join codes as own on own.code = t.service_code and own.therapist_id = t.therapist_id
    left join codes as every on every.code = t.service_code and every.therapist_id = ''
    left join synonyms as a on a.field = 'approach' and a.raw = spelling(t.approach_raw)
    left join synonyms as att on att.field = 'attendance' and att.raw = spelling(t.attendance_raw)
    left join synonyms as s on s.field = 'setting' and s.raw = spelling(t.setting_raw)
),

resolved as (
    select
        *,
        coalesce(modality_named, modality_coded) as modality,
        coalesce(attendance_named, case when attendance_raw is null then 'attended' end) as attendance,
        coalesce(start_time_parsed, start_time_in_date) as start_time
    from typed
),

repeated as (
    -- appointment ids on more than one line of the file (rare: a tiny table)
    select session_id, min(_line) as first_line
    from resolved
    where session_id is not null
    group by session_id
    having count(*) > 1
),

checked as (
    select
        r.*,
        [e for e in [
            case when r.session_id is null then {'column': 'session_id', 'value': null, 'reason': 'required value missing (the appointment id)'} end,
            case when r.child_id is null then {'column': 'child_id', 'value': null, 'reason': 'required value missing'} end,
            case when r.therapist_id is null and not r.removed then {'column': 'therapist_id', 'value': null, 'reason': 'required value missing'} end,
            case when r.session_date_raw is null then {'column': 'session_date', 'value': null, 'reason': 'required value missing'} end,
            case when r.session_date_raw is not null and r.session_date is null then {'column': 'session_date',
                'value': r.session_date_raw, 'reason': 'not a date (expected ' || $date_label || ')'} end,
            case when not r.removed and r.session_date > $today then {'column': 'session_date', 'value': r.session_date_raw,
                'reason': 'the appointment is in the future (it loads from an export made after it)'} end,
            case when not r.removed and r.modality_raw is not null and r.modality_named is null then {'column': 'modality',
                'value': r.modality_raw,
                'reason': 'unknown modality ''' || r.modality_raw || ''' (expected CBT, OT, speech or play, or a synonym in the profile)'} end,
            case when not r.removed and r.modality_raw is null and r.service_code is not null and r.modality_coded is null then
                {'column': 'service_code', 'value': r.service_code,
                 'reason': 'service code ' || r.service_code || ' has no modality (add it to [service_codes] in the profile, '
                     || 'or per therapist under [service_codes.by_therapist.' || coalesce(r.therapist_id, 'ID') || '])'} end,
            case when not r.removed and r.attendance_raw is not null and r.attendance_named is null then {'column': 'attendance',
                'value': r.attendance_raw,
                'reason': 'unknown status ''' || r.attendance_raw || ''' (expected attended, cancelled, late-cancelled, no-show or '
                    || 'clinician-cancelled, a synonym in the profile, or a [removed] value)'} end,
            case when not r.removed and r.approach_raw is not null and r.approach is null then {'column': 'approach',
                'value': r.approach_raw, 'reason': 'unknown approach ''' || r.approach_raw || ''' (expected child-led, directed or mixed)'} end,
            case when not r.removed and r.setting_raw is not null and r.setting is null then {'column': 'setting',
                'value': r.setting_raw,
                'reason': 'unknown setting ''' || r.setting_raw || ''' (expected clinic, home, school, telehealth or community)'} end,
            case when r.start_time_raw is not null and r.start_time_parsed is null then {'column': 'start_time',
                'value': r.start_time_raw, 'reason': 'not a time of day (expected hh:mm, e.g. 09:30 or 2:30 pm)'} end,
            case when r.date_of_birth_raw is not null and (r.date_of_birth is null or r.date_of_birth > $today
                or r.date_of_birth < date '1900-01-01') then {'column': 'date_of_birth', 'value': r.date_of_birth_raw,
                'reason': 'not a plausible date of birth (expected ' || $date_label || ', 1900 or later, not in the future)'} end,
            case when not r.removed and r.duration_min_raw is not null and (r.duration_num is null or not isfinite(r.duration_num)
                or r.duration_num <> round(r.duration_num) or r.duration_num < 1 or r.duration_num > 600) then
                {'column': 'duration_min', 'value': r.duration_min_raw,
                 'reason': 'duration must be whole minutes from 1 to 600 (the contract''s integer minutes)'} end,
            case when rp.first_line is not null and r._line > rp.first_line then {'column': 'session_id', 'value': r.session_id,
                'reason': 'appointment ' || r.session_id || ' is also on line ' || rp.first_line || ' of this file (line '
                    || rp.first_line || ' kept)'} end
        ] if e is not null] as errors
    from resolved as r
    left join repeated as rp on rp.session_id = r.session_id
)

select
    _line as line,
    session_id,
    child_id,
    therapist_id,
    team,
    session_date,
    start_time,
    case when not removed then modality end as modality,
    service_code,
    approach,
    case when removed then coalesce(attendance, 'cancelled') else attendance end as attendance,
    try_cast(duration_num as integer) as duration_min,
    setting,
    date_of_birth,
    removed,
    errors
from checked
