-- one row per exported row of one children-source file: the child's episode of care (child x episode: the episode id, else the referral date) typed, with what its discharge reason means (planned, dropped_out, other), and the list of what is wrong with it
-- inputs: temp tables raw_rows (canonical text columns, _line) and value_synonyms (field, raw, value; field discharge_kind: reason spellings);
-- parameters: $date_format, $date_label, $today
with

trimmed as (
    select
        _line,
        nullif(trim(child_id), '') as child_id,
        nullif(trim(episode_id), '') as episode_given,
        nullif(trim(date_of_birth), '') as date_of_birth_raw,
        nullif(trim(referral_date), '') as referral_date_raw,
        nullif(trim(discharge_date), '') as discharge_date_raw,
        nullif(trim(discharge_reason), '') as discharge_reason
    from raw_rows
),

synonyms as (
    select field, raw, value from value_synonyms
),

typed as (
    select
        t.*,
        parse_date(t.date_of_birth_raw, $date_format) as date_of_birth,
        parse_date(t.referral_date_raw, $date_format) as referral_date,
        parse_date(t.discharge_date_raw, $date_format) as discharge_date,
        k.value as kind_named
    from trimmed as t
    left join synonyms as k on k.field = 'discharge_kind' and k.raw = spelling(t.discharge_reason)
),

keyed as (
    select
        *,
        coalesce(episode_given, strftime(referral_date, '%Y-%m-%d'), 'episode') as episode_id,
        case when discharge_date is not null or discharge_reason is not null then coalesce(kind_named, 'other') end
            as discharge_kind
    from typed
),

repeated as (
    select _line, min(_line) over (partition by child_id, episode_id) as first_line
    from keyed
    where child_id is not null
    qualify count(*) over (partition by child_id, episode_id) > 1
),

checked as (
    select
        k.*,
        [e for e in [
            case when k.child_id is null then {'column': 'child_id', 'value': null, 'reason': 'required value missing'} end,
            case when k.date_of_birth_raw is not null and k.date_of_birth is null then {'column': 'date_of_birth',
                'value': k.date_of_birth_raw, 'reason': 'not a date (expected ' || $date_label || ')'} end,
            case when k.date_of_birth > $today then {'column': 'date_of_birth', 'value': k.date_of_birth_raw,
                'reason': 'date of birth is in the future'} end,
            case when k.date_of_birth < date '1900-01-01' then {'column': 'date_of_birth', 'value': k.date_of_birth_raw,
                'reason': 'date of birth before 1900 is not plausible'} end,
            case when k.referral_date_raw is not null and k.referral_date is null then {'column': 'referral_date',
                'value': k.referral_date_raw, 'reason': 'not a date (expected ' || $date_label || ')'} end,
            case when k.discharge_date_raw is not null and k.discharge_date is null then {'column': 'discharge_date',
                'value': k.discharge_date_raw, 'reason': 'not a date (expected ' || $date_label || ')'} end,
            case when k.discharge_date > $today then {'column': 'discharge_date', 'value': k.discharge_date_raw,
                'reason': 'discharge date is in the future'} end,
            case when k.discharge_date < k.referral_date then {'column': 'discharge_date', 'value': k.discharge_date_raw,
                'reason': 'discharged before the referral (' || strftime(k.referral_date, '%Y-%m-%d') || ')'} end,
            case when k.referral_date < k.date_of_birth then {'column': 'referral_date', 'value': k.referral_date_raw,
                'reason': 'referral date is before the date of birth'} end,
            case when rp.first_line is not null and k._line > rp.first_line then {'column': 'episode_id',
                'value': k.episode_id, 'reason': 'the same episode of ' || k.child_id || ' is also on line '
                    || rp.first_line || ' of this file (line ' || rp.first_line || ' kept)'} end
        ] if e is not null] as errors
    from keyed as k
    left join repeated as rp on rp._line = k._line
)

select
    _line as line,
    child_id,
    episode_id,
    date_of_birth,
    referral_date,
    discharge_date,
    discharge_reason,
    discharge_kind,
    errors
from checked
