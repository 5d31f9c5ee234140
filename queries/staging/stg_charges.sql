-- one row per exported row of one charges file (WebPT's charges: one billed code of one visit): the visit it refers to (session_ref: the visit id, else child_id|visit date|), the code's modality and the list of what is wrong with it
-- inputs: temp tables raw_rows (canonical text columns, _line), service_codes (code, therapist_id or '' for all, modality); parameters: $date_format, $date_label, $today
with

trimmed as (
    select
        _line,
        nullif(trim(session_id), '') as session_id,
        nullif(trim(child_id), '') as child_id,
        nullif(trim(therapist_id), '') as therapist_id,
        nullif(trim(session_date), '') as session_date_raw,
        nullif(trim(service_code), '') as service_code,
        nullif(trim(note_type), '') as note_type
    from raw_rows
),

codes as (
    select code, therapist_id, modality from service_codes
),

typed as (
    select
        t.*,
        parse_date(t.session_date_raw, $date_format) as session_date,
        coalesce(own.modality, every.modality) as modality
    from trimmed as t
    left join codes as own on own.code = t.service_code and own.therapist_id = t.therapist_id
    left join codes as every on every.code = t.service_code and every.therapist_id = ''
),

checked as (
    select
        *,
        coalesce(session_id || '#' || child_id, child_id || '|' || strftime(session_date, '%Y-%m-%d') || '|') as session_ref,
        [e for e in [
            case when child_id is null then {'column': 'child_id', 'value': null, 'reason': 'required value missing'} end,
            case when session_date_raw is null then {'column': 'session_date', 'value': null, 'reason': 'required value missing'} end,
            case when service_code is null then {'column': 'service_code', 'value': null, 'reason': 'required value missing'} end,
            case when session_date_raw is not null and session_date is null then {'column': 'session_date',
                'value': session_date_raw, 'reason': 'not a date (expected ' || $date_label || ')'} end,
            case when session_date > $today then {'column': 'session_date', 'value': session_date_raw,
                'reason': 'visit date is in the future'} end,
            case when service_code is not null and modality is null then {'column': 'service_code', 'value': service_code,
                'reason': 'service code ' || service_code || ' has no modality (add it to [service_codes] in the profile, '
                    || 'or per therapist under [service_codes.by_therapist.' || coalesce(therapist_id, 'ID') || '])'} end
        ] if e is not null] as errors
    from typed
)

select
    _line as line,
    session_ref,
    session_id,
    child_id,
    session_date,
    therapist_id,
    service_code,
    modality,
    note_type,
    errors
from checked
