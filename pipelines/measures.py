"""The measures catalogue: ``measures.toml`` (or ``$PIPELINES_MEASURES``) read into ``Measure``s.

Every outcome a file may carry is one ``[measure.ID]`` table: its label and unit, its kind
(rating with min and max, percent, count, rate, duration, trials), which way is better, its
level (session or goal) and, for standardised measures, the SD and reliability behind
reliable change. ``catalogue()`` reads the file again when it changes. A malformed file raises
``MeasuresError`` (a ``SettingsError``: every entry point already stops on those in one line)
naming the file, the measure and the key, e.g.
``measures.toml: measure 'on_task': kind = 'percentage': expected one of rating, percent, ...``.

The load validates each value against its measure (``queries/staging/stg_sessions.sql`` reads
the table ``write_catalogue_table`` writes, ``measure_definitions``; the mart
``measure_catalogue`` is built from it); the analytics take labels, units,
directions and, for reliable change, SD and reliability (``rci_reference``) from here.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pipelines import toml_files
from pipelines.settings import SettingsError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "measures.toml"
ENV = "PIPELINES_MEASURES"
KINDS = ("rating", "percent", "count", "rate", "duration", "trials")
DIRECTIONS = ("higher", "lower")
LEVELS = ("session", "goal")
KEYS = ("label", "unit", "kind", "min", "max", "step", "direction", "level", "good", "sd", "reliability", "source",
        "attended_only")
ID = re.compile(r"[A-Za-z0-9_-]+")
# the measures the pipeline itself gives a meaning: the canonical engagement column, GAS levels
ENGAGEMENT, GAS, TRIALS = "engagement", "gas", "goal_trials"


class MeasuresError(SettingsError):
    """The measures catalogue cannot be used; the message is one line naming file, measure and key."""


@dataclass(frozen=True)
class Measure:
    """One measure of the catalogue (``min``/``max`` for ratings only; ``sd``/``reliability`` for
    standardised measures)."""

    id: str
    label: str
    unit: str
    kind: str
    direction: str
    level: str
    min: float | None = None
    max: float | None = None
    step: float | None = None
    good: float | None = None
    sd: float | None = None
    reliability: float | None = None
    source: str = ""
    attended_only: bool = True  # a value for a session not attended is rejected (False: a questionnaire, a review)

    @property
    def higher_is_better(self) -> bool:
        return self.direction == "higher"

    @property
    def sign(self) -> int:
        """+1 when higher is better, -1 when lower is."""
        return 1 if self.higher_is_better else -1

    @property
    def low(self) -> float | None:
        """The lowest value the kind allows (a rating's min; 0 for every other kind)."""
        return self.min if self.kind == "rating" else 0.0

    @property
    def high(self) -> float | None:
        """The highest value the kind allows (a rating's max; 100 for percent and trials; else none)."""
        if self.kind == "rating":
            return self.max
        return 100.0 if self.kind in ("percent", "trials") else None

    @property
    def rule(self) -> str:
        """The value rule in words, as reject reasons give it ("a percent must be from 0 to 100")."""
        lo, hi, step = self.low, self.high, self.step
        signed = lo is not None and lo < 0
        whole = step is not None and step == 1 and lo is not None and float(lo).is_integer()
        grid = f" in steps of {_num(step)}" if step is not None and not whole else ""
        if self.kind == "rating":
            return (f"a rating must be {'a whole number ' if whole else ''}from {_num(lo, signed)} to "
                    f"{_num(hi, signed)}{grid}")
        if self.kind == "percent":
            return f"a percent must be from 0 to 100{grid}"
        if self.kind == "trials":
            return "trials need whole numbers: a trials_total of 1 or more and trials_correct from 0 to trials_total"
        noun = {"count": "a count", "rate": "a rate (per minute)", "duration": "a duration (minutes)"}[self.kind]
        return f"{noun} must be {'a whole number, ' if whole else ''}0 or more{grid}"


def _num(x: float | None, signed: bool = False) -> str:
    """A number as people write it: 5, 0.5, +2 (``signed``: positive numbers get their +)."""
    if x is None:
        return ""
    text = str(int(x)) if float(x).is_integer() else f"{x:g}"
    return f"+{text}" if signed and x > 0 else text


def path() -> Path:
    """The catalogue in use: ``$PIPELINES_MEASURES``, else the project's measures.toml."""
    return Path(os.environ.get(ENV) or DEFAULT)


def shown(p: Path | None = None) -> str:
    """The catalogue as messages name it: relative to the project when it is in it (``measures.toml``)."""
    p = Path(p or path())
    try:
        return p.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(p)


_CACHE: dict[tuple[str, int, int], dict[str, Measure]] = {}


def catalogue(file: str | Path | None = None) -> dict[str, Measure]:
    """The measures of ``file`` (default ``path()``) by id, in file order; read again when the file changes."""
    p = Path(file) if file else path()
    return toml_files.read_cached(p, _CACHE, parse, shown=shown(p), what="the measures catalogue", error=MeasuresError,
                                  hint=f"; ${ENV} names it" if not file and os.environ.get(ENV) else "")


def _number(value: Any, where: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise MeasuresError(f"{where}: {key} = {value!r}: expected a (finite) number")
    return float(value)


def _choice(table: dict, key: str, allowed: tuple[str, ...], where: str) -> str:
    if key not in table:
        raise MeasuresError(f"{where}: {key} is missing (expected one of {', '.join(allowed)})")
    value = table[key]
    if value not in allowed:
        raise MeasuresError(f"{where}: {key} = {value!r}: expected one of {', '.join(allowed)}")
    return value


def _text(table: dict, key: str, default: str, where: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise MeasuresError(f"{where}: {key} = {value!r}: expected text in quotes")
    return value


def _flag(table: dict, key: str, default: bool, where: str) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise MeasuresError(f"{where}: {key} = {value!r}: expected true or false")
    return value


def _measure(mid: str, table: Any, source: str) -> Measure:
    where = f"{source}: measure '{mid}'"
    if not ID.fullmatch(mid):
        raise MeasuresError(f"{where}: an id has letters, digits, _ and - only")
    if not isinstance(table, dict):
        raise MeasuresError(f"{where}: expected a table [measure.{mid}] of keys")
    unknown = [k for k in table if k not in KEYS]
    if unknown:
        raise MeasuresError(f"{where}: unknown key '{unknown[0]}' (expected {', '.join(KEYS)})")
    kind = _choice(table, "kind", KINDS, where)
    num = {k: _number(table[k], where, k) for k in ("min", "max", "step", "good", "sd", "reliability") if k in table}
    if kind == "rating":
        for k in ("min", "max"):
            if k not in num:
                raise MeasuresError(f"{where}: {k} is missing (a rating needs min and max)")
        if num["min"] >= num["max"]:
            raise MeasuresError(f"{where}: min = {_num(num['min'])} must be below max = {_num(num['max'])}")
    else:
        for k in ("min", "max"):
            if k in num:
                raise MeasuresError(f"{where}: {k}: only a rating has min and max (a {kind}'s range is fixed)")
    if "step" in num:
        if kind == "trials":
            raise MeasuresError(f"{where}: step: trials are whole numbers already (no step)")
        if num["step"] <= 0:
            raise MeasuresError(f"{where}: step = {_num(num['step'])}: expected a number above 0")
    m = Measure(id=mid, label=_text(table, "label", mid, where), unit=_text(table, "unit", "", where), kind=kind,
                direction=_choice(table, "direction", DIRECTIONS, where), level=_choice(table, "level", LEVELS, where),
                min=num.get("min"), max=num.get("max"), step=num.get("step"), good=num.get("good"),
                sd=num.get("sd"), reliability=num.get("reliability"), source=_text(table, "source", "", where),
                attended_only=_flag(table, "attended_only", True, where))
    if m.good is not None and not ((m.low is None or m.good >= m.low) and (m.high is None or m.good <= m.high)):
        raise MeasuresError(f"{where}: good = {_num(m.good)} is outside the measure's values ({m.rule})")
    if (m.sd is None) != (m.reliability is None):
        raise MeasuresError(f"{where}: {'reliability' if m.reliability is None else 'sd'} is missing "
                            "(reliable change needs both sd and reliability)")
    if m.sd is not None and m.sd <= 0:
        raise MeasuresError(f"{where}: sd = {_num(m.sd)}: expected a number above 0")
    if m.reliability is not None and not 0 <= m.reliability < 1:
        raise MeasuresError(f"{where}: reliability = {_num(m.reliability)}: expected a number from 0 to below 1")
    if mid == GAS and not (kind == "rating" and m.level == "goal" and m.step == 1 and m.min is not None
                           and m.min.is_integer()):
        raise MeasuresError(f"{where}: GAS levels are whole numbers per goal: kind = 'rating', level = 'goal', "
                            "step = 1 and a whole min")
    return m


def parse(doc: dict, source: str = "measures.toml") -> dict[str, Measure]:
    """The measures of a parsed catalogue document; ``MeasuresError`` names the first problem."""
    unknown = [k for k in doc if k != "measure"]
    if unknown:
        raise MeasuresError(f"{source}: unknown top-level key '{unknown[0]}' (expected [measure.ID] tables only)")
    tables = doc.get("measure", {})
    if not isinstance(tables, dict) or not tables:
        raise MeasuresError(f"{source}: no [measure.ID] tables: the catalogue lists no measure")
    return {mid: _measure(mid, t, source) for mid, t in tables.items()}


def get(measure_id: str) -> Measure:
    """One measure of the catalogue; KeyError naming the catalogue when it is not listed."""
    cat = catalogue()
    if measure_id not in cat:
        raise KeyError(f"measure '{measure_id}' is not in the catalogue ({shown()})")
    return cat[measure_id]


TABLE = "measure_definitions"  # what staging and the mart measure_catalogue read
TABLE_COLUMNS = ("measure", "label", "unit", "kind", "direction", "sign", "level", "min", "max", "step", "good",
                 "low", "high", "sd", "reliability", "source", "attended_only", "rule")


def table_rows(cat: dict[str, Measure] | None = None) -> list[tuple]:
    """The rows of table ``measure_definitions`` (``TABLE_COLUMNS``), one per measure, in file order."""
    cat = catalogue() if cat is None else cat
    return [(m.id, m.label, m.unit, m.kind, m.direction, m.sign, m.level, m.min, m.max, m.step, m.good, m.low,
             m.high, m.sd, m.reliability, m.source, m.attended_only, m.rule) for m in cat.values()]


def write_catalogue_table(con, cat: dict[str, Measure] | None = None) -> None:
    """Create or replace table ``measure_definitions`` from the catalogue (staging reads it; the
    mart ``measure_catalogue`` is built from it)."""
    con.execute(f"create or replace table {TABLE} (measure varchar, label varchar, unit varchar, kind varchar, "
                "direction varchar, sign integer, level varchar, min double, max double, step double, good double, "
                "low double, high double, sd double, reliability double, source varchar, attended_only boolean, "
                "rule varchar)")
    rows = table_rows(cat)
    if rows:
        con.executemany(f"insert into {TABLE} values ({', '.join('?' * len(TABLE_COLUMNS))})", rows)


def rci_reference(cat: dict[str, Measure] | None = None):
    """The standardised measures (those with sd and reliability) as the reference table
    ``stats.rci.classify_change`` takes: measure, full_name, sd, reliability, higher_is_better, source."""
    import pandas as pd

    cat = catalogue() if cat is None else cat
    rows = [m for m in cat.values() if m.sd is not None]
    return pd.DataFrame({"measure": [m.id for m in rows], "full_name": [m.label for m in rows],
                         "sd": pd.Series([m.sd for m in rows], dtype="float64"),
                         "reliability": pd.Series([m.reliability for m in rows], dtype="float64"),
                         "higher_is_better": pd.Series([m.higher_is_better for m in rows], dtype="bool"),
                         "source": [m.source for m in rows]})


def key(cat: dict[str, Measure] | None = None) -> str:
    """A hash of the catalogue's content (part of the stored tables' freshness key)."""
    cat = catalogue() if cat is None else cat
    blob = json.dumps([asdict(m) for m in cat.values()], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
