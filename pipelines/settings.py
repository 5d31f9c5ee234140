"""Practice settings: ``settings.toml`` (or ``$PIPELINES_SETTINGS``) read into frozen dataclasses.

Every module asks ``get()`` for a ``Settings`` and reads its fields (``get().flags.dropout_days``);
nothing else reads the file or keeps a default of its own. The defaults are the field defaults
below, one place, and equal the shipped ``settings.toml`` (``tests/test_settings.py`` checks
it); a key left out of the file takes its default. ``get()`` reads the file again when its
modification time or size changes, so an edited file is picked up without a restart.

A value of the wrong type or out of range, an unknown section or key, or a file that is not
TOML raises ``SettingsError`` with one line naming the file, the section and the key, e.g.
``settings.toml: [flags] attendance_min_rate = 1.5: expected a number from 0 to 1``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from pipelines import toml_files
from pipelines.errors import SettingsError  # noqa: F401  (settings.SettingsError, as before)

DEFAULT = Path(__file__).resolve().parent.parent / "settings.toml"
ENV = "PIPELINES_SETTINGS"


# ------------------------------------------------------------------------------ value rules

def _int(default: int, lo: int | None = None, hi: int | None = None) -> Any:
    """An integer field (a TOML integer; true/false and 2.0 are refused), from ``lo`` to ``hi``."""
    return field(default=default, metadata={"kind": "int", "lo": lo, "hi": hi})


def _num(default: float, lo: float | None = None, hi: float | None = None, open_lo: bool = False,
         open_hi: bool = False) -> Any:
    """A number field (TOML integer or float), within ``lo``..``hi`` (``open_*``: the bound itself excluded)."""
    return field(default=float(default), metadata={"kind": "num", "lo": lo, "hi": hi, "open_lo": open_lo,
                                                   "open_hi": open_hi})


def _text(default: str) -> Any:
    return field(default=default, metadata={"kind": "text"})


def _texts(default: tuple[str, ...] = ()) -> Any:
    return field(default=default, metadata={"kind": "texts"})


def _range_words(m: dict, integer: bool) -> str:
    noun = "a whole number" if integer else "a number"
    lo, hi = m.get("lo"), m.get("hi")
    if lo is not None and hi is not None:
        if m.get("open_lo") and m.get("open_hi"):
            return f"{noun} between {lo:g} and {hi:g} (both excluded)"
        if m.get("open_lo") or m.get("open_hi"):
            return f"{noun} from {lo:g} to {hi:g}, {hi if m.get('open_hi') else lo:g} excluded"
        return f"{noun} from {lo:g} to {hi:g}"
    if lo is not None:
        return f"{noun} {'above' if m.get('open_lo') else 'of at least'} {lo:g}"
    if hi is not None:
        return f"{noun} {'below' if m.get('open_hi') else 'of at most'} {hi:g}"
    return noun


def _in_range(v: float, m: dict) -> bool:
    lo, hi = m.get("lo"), m.get("hi")
    if lo is not None and (v <= lo if m.get("open_lo") else v < lo):
        return False
    return not (hi is not None and (v >= hi if m.get("open_hi") else v > hi))


def _value(raw: Any, f: dataclasses.Field, where: str) -> Any:
    """``raw`` checked against the field's rule; SettingsError naming ``where`` otherwise."""
    m = f.metadata
    bad = f"{where} = {json.dumps(raw, default=str)}: expected "
    if m["kind"] == "int":
        if isinstance(raw, bool) or not isinstance(raw, int) or not _in_range(raw, m):
            raise SettingsError(bad + _range_words(m, integer=True))
        return raw
    if m["kind"] == "num":
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw) \
                or not _in_range(raw, m):
            raise SettingsError(bad + _range_words(m, integer=False))
        return float(raw)
    if m["kind"] == "text":
        if not isinstance(raw, str) or not raw.strip():
            raise SettingsError(bad + "text in quotes")
        return raw
    if not isinstance(raw, list) or not all(isinstance(x, str) and x.strip() for x in raw):
        raise SettingsError(bad + 'a list of texts in quotes, e.g. ["https://issuer.example/"]')
    return tuple(raw)


# ------------------------------------------------------------------------------ the sections

class AgeGroup(NamedTuple):
    """An age group: its label and the lowest and highest age in years (inclusive, at the session date)."""

    label: str
    lo: int
    hi: int


DEFAULT_AGE_GROUPS = (AgeGroup("0-2", 0, 2), AgeGroup("3-5", 3, 5), AgeGroup("6-12", 6, 12),
                      AgeGroup("13-18", 13, 18))


@dataclass(frozen=True)
class GasSettings:
    """``[gas]``: goal attainment scaling (Kiresuk & Sherman 1968)."""

    rho: float = _num(0.3, 0, 1, open_hi=True)     # inter-goal correlation in the T-score
    expected_level: int = _int(0, -2, 2)           # the level a goal is expected to reach


@dataclass(frozen=True)
class MasterySettings:
    """``[mastery]``: when a trial-based goal is mastered, unless its goal says otherwise
    (percent correct of the trials in a session, in this many consecutive sessions)."""

    percent: float = _num(80, 0, 100, open_lo=True)
    consecutive_sessions: int = _int(3, 1)


@dataclass(frozen=True)
class ComparisonSettings:
    """``[comparison]``: child-led vs directed and the minimum n of estimated figures."""

    min_sessions_per_approach: int = _int(3, 1)    # sessions of each approach for a child to be compared
    min_children: int = _int(5, 2)                 # children in a cell before an effect is estimated
    bootstrap_resamples: int = _int(2000, 100)
    bootstrap_seed: int = _int(20261122, 0)
    confidence: float = _num(0.95, 0, 1, open_lo=True, open_hi=True)


@dataclass(frozen=True)
class FlagSettings:
    """``[flags]``: the needs-attention rules' windows and thresholds."""

    engagement_window_weeks: int = _int(8, 1)
    engagement_trend_alpha: float = _num(0.05, 0, 1, open_lo=True, open_hi=True)
    engagement_min_sessions: int = _int(5, 3)
    gas_stall_weeks: int = _int(12, 1)
    attendance_window_weeks: int = _int(8, 1)
    attendance_min_rate: float = _num(0.75, 0, 1)
    attendance_min_scheduled: int = _int(4, 1)
    dropout_days: int = _int(30, 1)
    dropout_active_days: int = _int(90, 1)         # attended in this many days before the gap: "active"
    rating_gap_days: int = _int(60, 1)


@dataclass(frozen=True)
class PrivacySettings:
    """``[privacy]``: the fewest children a figure shown beyond the team may rest on."""

    small_cell_min: int = _int(5, 2)


@dataclass(frozen=True)
class MeetingPackSettings:
    """``[meeting_pack]``: what counts as a rise in engagement, and the months of trends."""

    rise_min_points: float = _num(1.0, 0)
    rise_min_rated: int = _int(2, 1)
    trend_months: int = _int(6, 1)


@dataclass(frozen=True)
class AccessSettings:
    """``[access]``: the access list's file and the issuers trusted without ``email_verified``."""

    file: str = _text("config/access.toml")
    trusted_issuers: tuple[str, ...] = _texts(())


@dataclass(frozen=True)
class UploadSettings:
    """``[uploads]``: the Data page's caps (and the Excel cell cap, which applies to every load)."""

    max_mb: float = _num(50, 0, open_lo=True)
    max_uncompressed_mb: float = _num(120, 0, open_lo=True)
    max_rows: int = _int(100_000, 1)
    max_cell_chars: int = _int(32_767, 1)


SECTIONS: dict[str, type] = {
    "gas": GasSettings, "mastery": MasterySettings, "comparison": ComparisonSettings, "flags": FlagSettings, "privacy": PrivacySettings,
    "meeting_pack": MeetingPackSettings, "access": AccessSettings, "uploads": UploadSettings,
}


@dataclass(frozen=True)
class Settings:
    """Every section of settings.toml; ``age_groups`` in order of age."""

    age_groups: tuple[AgeGroup, ...] = DEFAULT_AGE_GROUPS
    gas: GasSettings = field(default_factory=GasSettings)
    mastery: MasterySettings = field(default_factory=MasterySettings)
    comparison: ComparisonSettings = field(default_factory=ComparisonSettings)
    flags: FlagSettings = field(default_factory=FlagSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    meeting_pack: MeetingPackSettings = field(default_factory=MeetingPackSettings)
    access: AccessSettings = field(default_factory=AccessSettings)
    uploads: UploadSettings = field(default_factory=UploadSettings)
    source: str = field(default="", compare=False)   # the file read ("" = the defaults)

    def as_dict(self) -> dict:
        """Every value as plain data (age groups as ``{label: [lo, hi]}``), without ``source``."""
        d = {name: dataclasses.asdict(getattr(self, name)) for name in SECTIONS}
        return {"age_groups": {g.label: [g.lo, g.hi] for g in self.age_groups}, **d}

    @property
    def fingerprint(self) -> str:
        """A short hash of every value: equal settings, equal fingerprint (a cache key)."""
        return hashlib.sha256(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()[:16]


# ------------------------------------------------------------------------------ reading

def _section(cls: type, raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise SettingsError(f"{where}: expected a table of settings (a [section] heading with key = value lines)")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise SettingsError(f"{where} {unknown[0]}: unknown setting (known: {', '.join(fields)})")
    return cls(**{k: _value(v, fields[k], f"{where} {k}") for k, v in raw.items()})


def _age_groups(raw: Any, where: str) -> tuple[AgeGroup, ...]:
    if not isinstance(raw, dict):
        raise SettingsError(f"{where}: expected a table of name = [lowest age, highest age]")
    if not raw:
        raise SettingsError(f"{where}: no age group; give at least one, e.g. \"3-5\" = [3, 5]")
    groups = []
    for label, span in raw.items():
        ok = (isinstance(span, list) and len(span) == 2
              and all(isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= 120 for x in span)
              and span[0] <= span[1])
        if not ok:
            raise SettingsError(f"{where} \"{label}\" = {json.dumps(span, default=str)}: expected [lowest age, "
                                "highest age] in whole years from 0 to 120, the lowest first")
        groups.append(AgeGroup(str(label), span[0], span[1]))
    groups.sort(key=lambda g: (g.lo, g.hi))
    for a, b in zip(groups, groups[1:]):
        if b.lo <= a.hi:
            raise SettingsError(f"{where} \"{b.label}\" = [{b.lo}, {b.hi}]: overlaps \"{a.label}\" = [{a.lo}, "
                                f"{a.hi}]; a child's age must fall in one group")
    return tuple(groups)


def parse(doc: dict, source: str = "settings.toml") -> Settings:
    """``Settings`` from a parsed TOML document; ``source`` names the file in errors."""
    known = ["age_groups", *SECTIONS]
    unknown = [k for k in doc if k not in known]
    if unknown:
        raise SettingsError(f"{source}: [{unknown[0]}]: unknown section (known: {', '.join(known)})")
    values: dict[str, Any] = {"source": source}
    if "age_groups" in doc:
        values["age_groups"] = _age_groups(doc["age_groups"], f"{source}: [age_groups]")
    for name, cls in SECTIONS.items():
        if name in doc:
            values[name] = _section(cls, doc[name], f"{source}: [{name}]")
    return Settings(**values)


def path() -> Path:
    """The settings file in use: ``$PIPELINES_SETTINGS``, else the project's settings.toml."""
    return Path(os.environ.get(ENV) or DEFAULT)


_CACHE: dict[tuple[str, int, int], Settings] = {}


def _shown(p: Path) -> str:
    """The file as errors name it: relative to the project when it is in it (``settings.toml``)."""
    try:
        return p.resolve().relative_to(DEFAULT.parent).as_posix()
    except ValueError:
        return str(p)


def get(file: str | Path | None = None) -> Settings:
    """The settings of ``file`` (default ``path()``), read again whenever the file changes."""
    p = Path(file) if file else path()
    return toml_files.read_cached(p, _CACHE, parse, shown=_shown(p), what="the settings file", error=SettingsError,
                                  hint=f"; ${ENV} names it" if not file and os.environ.get(ENV) else "")


def age_groups() -> list[tuple[str, int, int]]:
    """``get().age_groups`` as a list of (label, lowest age, highest age), in order of age."""
    return list(get().age_groups)
