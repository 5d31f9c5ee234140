-- one row per measure of the catalogue (measures.toml, written at every build): label, unit, kind, direction (sign +1 when higher is better), level, range, step, good, sd and reliability, whether a value needs an attended session, and the value rule in words
with

definitions as (
    select * from measure_definitions
)

select
    measure,
    label,
    unit,
    kind,
    direction,
    sign,
    level,
    min,
    max,
    step,
    good,
    low,
    high,
    sd,
    reliability,
    source,
    attended_only,
    rule
from definitions
