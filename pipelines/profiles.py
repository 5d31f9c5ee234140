"""Mapping profiles: how one practice-management system's export maps onto the contract.

A profile is a TOML file (see ``profiles/canonical.toml``): the source it reads (``source``,
default ``sessions``), header names per canonical column, value synonyms per field, the date
format, the CSV delimiter and the Excel sheet. Beside those:

* ``[measures]``: wide measure columns, ``measure_id = ["Header A", ...]`` (a column per measure
  of the catalogue, ``measures.toml``); a header that is a catalogue id is one without mapping;
* ``[values.measure]``: spellings of measure ids in a long file's ``measure`` column;
* ``[defaults]``: constant values for columns the export lacks (``therapist_id = "T-study"``);
* ``[derive.session_date]``: ``from = "session_number", start = "2020-01-06", step_days = 7``
  for research exports that number sessions instead of dating them (the dates are synthetic:
  session 1 is on ``start``, each next number ``step_days`` later; only their order means
  anything); ``[derive.session_id]``: ``from = "session_number"`` when they have no session id
  either (the id is ``child_id/session_number``).

Users add their own by dropping a ``.toml`` file into ``profiles/`` (or passing a path).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

PROFILES_DIR = Path(__file__).resolve().parent.parent / "profiles"

REQUIRED = ("session_id", "child_id", "therapist_id", "session_date", "modality", "approach")
OPTIONAL = (
    "team", "date_of_birth", "age_years", "attendance", "duration_min", "setting",
    "engagement", "goal_id", "goal_domain", "gas_level", "goal_weight", "measure",
    "measure_score", "start_time", "value", "trials_correct", "trials_total", "session_number",
    # the other sources' columns (design-13 section 2): appointments, session data, goals, children, charges
    "service_code", "removed_flag", "goal_text", "level_m3", "level_m2", "level_m1", "level_0", "level_p1",
    "level_p2", "baseline", "target", "mastery_criterion", "start_date", "met_date", "discontinued_date",
    "referral_date", "discharge_date", "discharge_reason", "episode_id", "note_type",
)
CANONICAL_COLUMNS = REQUIRED + OPTIONAL
# wide measure columns with a canonical name of their own: column -> the catalogue's measure
MEASURE_COLUMNS = {"engagement": "engagement", "gas_level": "gas"}
# columns that make a file long form (one row per session per measure): a value, or trials
LONG_FORM_COLUMNS = ("value", "trials_correct", "trials_total")
SOURCES = ("sessions", "appointments", "session_data", "goals", "children", "charges")
# the columns a file of each source must have (session_data also needs session_date or
# session_id, and a measure: see ``Profile.map_headers``)
SOURCE_REQUIRED = {
    "sessions": REQUIRED,
    "appointments": ("session_id", "child_id", "therapist_id", "session_date"),
    "session_data": ("child_id",),
    "goals": ("goal_id", "child_id"),
    "children": ("child_id",),
    "charges": ("child_id", "session_date", "service_code"),
}
MODALITIES = ("CBT", "OT", "speech", "play")
_GOAL_COLUMNS = ("goal_id", "child_id", "goal_text", "goal_domain", "level_m3", "level_m2", "level_m1", "level_0",
                 "level_p1", "level_p2", "baseline", "target", "mastery_criterion", "measure", "goal_weight",
                 "start_date", "met_date", "discontinued_date")
# the columns each source reads (the staging model stg_<source> uses no others)
SOURCE_COLUMNS = {
    "sessions": REQUIRED + OPTIONAL[:OPTIONAL.index("service_code")],
    "appointments": ("session_id", "child_id", "therapist_id", "team", "session_date", "start_time", "modality",
                     "service_code", "attendance", "duration_min", "setting", "approach", "date_of_birth",
                     "removed_flag"),
    "session_data": ("session_id", "child_id", "session_date", "start_time", "approach", "therapist_id", "setting",
                     "goal_id", "measure", "value", "measure_score", "trials_correct", "trials_total", "engagement",
                     "gas_level"),
    "goals": _GOAL_COLUMNS,
    "children": ("child_id", "episode_id", "date_of_birth", "referral_date", "discharge_date", "discharge_reason"),
    "charges": ("session_id", "child_id", "session_date", "service_code", "therapist_id", "note_type"),
}
# identifiers: a source whose required columns are only these (children, goals, session data) fits a
# file only when the file also has one of its other columns (a date of birth, a goal's text, a value)
_ID_COLUMNS = frozenset({"session_id", "child_id", "episode_id", "goal_id"})
DERIVABLE = {"session_date": "session_number", "session_id": "session_number"}  # column -> derived from
# Fields whose values must be one of the profile's canonical values.
ENUM_FIELDS = ("modality", "approach", "attendance", "setting")


class ProfileError(ValueError):
    """A profile file is missing, malformed, or does not fit an export's headers."""


def normalise_header(text: str) -> str:
    """Header text compared case-, space- and punctuation-insensitively."""
    return re.sub(r"[^0-9a-z]+", " ", str(text).lower()).strip()


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    date_format: str
    delimiter: str
    sheet: str | None
    columns: dict[str, tuple[str, ...]]
    values: dict[str, dict[str, str]]  # field -> {normalised spelling: canonical value}
    drop_columns: tuple[str, ...]
    source: str = ""            # where the profile came from (its file, or the archive manifest)
    own_headers: frozenset[str] = field(default_factory=frozenset)
    reads: str = "sessions"     # the source kind it reads (``source = "..."`` in the file)
    measures: dict[str, tuple[str, ...]] = field(default_factory=dict)  # measure id -> headers
    defaults: dict[str, str] = field(default_factory=dict)             # column -> constant
    derive: dict[str, dict] = field(default_factory=dict)              # column -> rule
    service_codes: dict[str, str] = field(default_factory=dict)        # service / CPT code -> modality
    service_codes_by_therapist: dict[str, dict[str, str]] = field(default_factory=dict)  # therapist -> code -> modality
    removed: dict = field(default_factory=dict)  # {"column": header or canonical column, "values": [spellings]}

    def as_dict(self) -> dict:
        """A JSON-serialisable copy, stored with each archived file so rebuilds replay it."""
        return {
            "name": self.name, "description": self.description,
            "date_format": self.date_format, "delimiter": self.delimiter, "sheet": self.sheet,
            "columns": {k: list(v) for k, v in self.columns.items()},
            "values": self.values, "drop_columns": list(self.drop_columns),
            "own_headers": sorted(self.own_headers), "reads": self.reads,
            "measures": {k: list(v) for k, v in self.measures.items()},
            "defaults": dict(self.defaults), "derive": {k: dict(v) for k, v in self.derive.items()},
            "service_codes": dict(self.service_codes),
            "service_codes_by_therapist": {k: dict(v) for k, v in self.service_codes_by_therapist.items()},
            "removed": {"column": self.removed["column"], "values": list(self.removed["values"])}
            if self.removed else {},
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Profile":
        columns = {c: () for c in CANONICAL_COLUMNS}  # an entry written before a column existed lacks it
        columns.update({k: tuple(v) for k, v in d["columns"].items()})
        return cls(
            name=d["name"], description=d.get("description", ""),
            date_format=d["date_format"], delimiter=d["delimiter"], sheet=d.get("sheet"),
            columns=columns,
            values={k: dict(v) for k, v in d["values"].items()},
            drop_columns=tuple(d["drop_columns"]), source="archive manifest",
            own_headers=frozenset(d.get("own_headers", ())), reads=d.get("reads", "sessions"),
            measures={k: tuple(v) for k, v in d.get("measures", {}).items()},
            defaults=dict(d.get("defaults", {})), derive={k: dict(v) for k, v in d.get("derive", {}).items()},
            service_codes=dict(d.get("service_codes", {})),
            service_codes_by_therapist={k: dict(v) for k, v in d.get("service_codes_by_therapist", {}).items()},
            removed=dict(d.get("removed", {})),
        )

    def required(self) -> tuple[str, ...]:
        """The required columns an export must have: those without a default or a derivation."""
        return tuple(c for c in SOURCE_REQUIRED[self.reads] if c not in self.defaults and c not in self.derive)

    def service_code_rows(self) -> list[tuple[str, str, str]]:
        """(code, therapist_id or '' for every therapist, modality) rows for the staging SQL."""
        rows = [(code, "", m) for code, m in self.service_codes.items()]
        return rows + [(code, t, m) for t, codes in self.service_codes_by_therapist.items() for code, m in codes.items()]

    def removed_values(self) -> list[str]:
        """The spellings (normalised) that mark a row as removed (``[removed] values``)."""
        return [normalise_value(v) for v in self.removed.get("values", ())]

    def synonym_rows(self) -> list[tuple[str, str, str]]:
        """(field, normalised spelling, canonical value) rows for the staging SQL."""
        return [(f, raw, value) for f, m in self.values.items() for raw, value in m.items()]

    def map_headers(self, headers: list[str], measure_ids: Iterable[str] = ()) -> "HeaderMap":
        """Match an export's headers to canonical columns and to wide measure columns (the
        profile's ``[measures]``, then headers that are ids of ``measure_ids``, the catalogue);
        raise when required ones are missing."""
        by_norm: dict[str, str] = {}
        for h in headers:
            by_norm.setdefault(normalise_header(h), h)
        mapping: dict[str, str] = {}
        for col in CANONICAL_COLUMNS:
            for alias in self.columns.get(col, ()):
                src = by_norm.get(normalise_header(alias))
                if src is not None and src not in mapping.values():
                    mapping[col] = src
                    break
        taken = set(mapping.values())
        measures: dict[str, str] = {}
        for mid, aliases in self.measures.items():
            for alias in aliases:
                src = by_norm.get(normalise_header(alias))
                if src is not None and src not in taken:
                    measures[mid] = src
                    taken.add(src)
                    break
        own = set(MEASURE_COLUMNS.values())  # ids with a canonical column of their own
        for mid in measure_ids:
            src = by_norm.get(normalise_header(mid))
            if mid not in measures and mid not in own and src is not None and src not in taken:
                measures[mid] = src
                taken.add(src)
        if self.removed and "removed_flag" not in mapping:
            rule_col = self.removed["column"]
            src = mapping.get(rule_col) or by_norm.get(normalise_header(rule_col))
            if src is not None:
                mapping["removed_flag"] = src  # may share its header with attendance (deleted statuses)
                taken.add(src)
        drop_norm = {normalise_header(d) for d in self.drop_columns}
        dropped = [h for h in headers if normalise_header(h) in drop_norm and h not in taken]
        missing = [c for c in self.required() if c not in mapping]
        for col, rule in self.derive.items():
            if col not in mapping and rule["from"] not in mapping and rule["from"] not in missing:
                missing.append(rule["from"])
        if self.reads == "session_data":
            if "session_date" not in mapping and "session_id" not in mapping and "session_date" not in self.derive:
                missing.append("session_date")
            if not measures and not any(c in mapping for c in ("engagement", "gas_level", "value", "measure_score",
                                                                "trials_correct", "trials_total")):
                missing.append("value")
        if missing:
            unmatched = [h for h in headers if h not in mapping.values()]
            hints = []
            for col in missing:
                targets = [normalise_header(col)] + [normalise_header(a) for a in self.columns.get(col, ())]
                scored = sorted(
                    ((max(difflib.SequenceMatcher(None, normalise_header(h), t).ratio() for t in targets), h)
                     for h in unmatched), reverse=True)
                names = [h for score, h in scored if score >= 0.6][:3]
                hints.append(f"{col} (closest headers: {', '.join(repr(n) for n in names) or 'none'})")
            raise ProfileError(
                f"missing required column(s) for profile '{self.name}': " + "; ".join(hints)
                + f". Headers found: {', '.join(repr(h) for h in headers[:25])}")
        ignored = [h for h in headers if h not in taken and h not in dropped]
        return HeaderMap(mapping=mapping, dropped=dropped, ignored=ignored, measures=measures)

    def score(self, headers: list[str]) -> tuple[int, int]:
        """How well this profile fits: (required columns found, own headers matched)."""
        norm = {normalise_header(h) for h in headers}
        needed = SOURCE_REQUIRED[self.reads]
        found = sum(c in self.defaults or c in self.derive
                    or any(normalise_header(a) in norm for a in self.columns.get(c, ())) for c in needed)
        return found, len(norm & self.own_headers)

    def fits(self, headers: list[str]) -> int:
        """How many of ``headers`` it reads when every required column of its source is found; -1 otherwise."""
        from pipelines import measures as catalogue

        try:
            hmap = self.map_headers(headers, catalogue.catalogue())
        except ProfileError:
            return -1
        reads = SOURCE_COLUMNS[self.reads]
        read = {c for c in hmap.mapping if c in reads}
        if not (read - _ID_COLUMNS) and not hmap.measures:
            return -1   # identifiers alone: an appointments file is not a children file because it has a child id
        return len({h for c, h in hmap.mapping.items() if c in reads}) + len(hmap.measures)


@dataclass(frozen=True)
class HeaderMap:
    mapping: dict[str, str]  # canonical column -> header in the file
    dropped: list[str]       # name-bearing columns dropped at load
    ignored: list[str]       # other columns we do not use
    measures: dict[str, str] = field(default_factory=dict)  # wide measure column: measure id -> header

    @property
    def long_form(self) -> bool:
        """Whether the file is long form: it has a value column (``value``) or trials columns."""
        return any(c in self.mapping for c in LONG_FORM_COLUMNS)


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"profile {path}: not valid TOML: {exc}") from None


def _resolve_path(name_or_path: str) -> Path:
    p = Path(name_or_path)
    if p.suffix == ".toml" and p.exists():
        return p
    candidate = PROFILES_DIR / f"{name_or_path}.toml"
    if candidate.exists():
        return candidate
    raise ProfileError(
        f"unknown profile '{name_or_path}': expected a .toml file or one of {', '.join(available())}")


def available() -> list[str]:
    """Names of the profiles shipped in ``profiles/`` (and any the user added there)."""
    return sorted(p.stem for p in PROFILES_DIR.glob("*.toml"))


def _headers(value, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(h, str) for h in value):
        raise ProfileError(f"{where}: expected a list of header names in quotes")
    return tuple(value)


def _measure_tables(raw: dict, path: Path, parent: Profile | None,
                    columns: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """The profile's ``[measures]`` (inherited ones too); engagement and gas go to their columns."""
    from pipelines import measures as catalogue

    table = raw.get("measures", {})
    if not isinstance(table, dict):
        raise ProfileError(f"profile {path}: [measures] must be a table of measure_id = [headers]")
    out = dict(parent.measures) if parent else {}
    known = catalogue.catalogue()
    by_measure = {m: c for c, m in MEASURE_COLUMNS.items()}
    for mid, value in table.items():
        headers = _headers(value, f"profile {path}: [measures] {mid}")
        if mid not in known:
            raise ProfileError(f"profile {path}: [measures] maps '{mid}', which is not in the catalogue "
                               f"({catalogue.shown()})")
        if mid in by_measure:
            col = by_measure[mid]
            columns[col] = headers + tuple(h for h in columns[col] if h not in headers)
        else:
            out[mid] = headers + tuple(h for h in out.get(mid, ()) if h not in headers)
    return out


def _defaults(raw: dict, path: Path, parent: Profile | None) -> dict[str, str]:
    table = raw.get("defaults", {})
    if not isinstance(table, dict):
        raise ProfileError(f"profile {path}: [defaults] must be a table of column = value")
    out = dict(parent.defaults) if parent else {}
    for col, value in table.items():
        if col not in CANONICAL_COLUMNS or col in MEASURE_COLUMNS:
            raise ProfileError(f"profile {path}: [defaults] {col}: not a canonical column that takes a constant")
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ProfileError(f"profile {path}: [defaults] {col} = {value!r}: expected text or a number")
        out[col] = str(value)
    return out


def _derive(raw: dict, path: Path, parent: Profile | None) -> dict[str, dict]:
    table = raw.get("derive", {})
    if not isinstance(table, dict):
        raise ProfileError(f"profile {path}: [derive] must hold tables such as [derive.session_date]")
    out = dict(parent.derive) if parent else {}
    for col, rule in table.items():
        where = f"profile {path}: [derive.{col}]"
        if col not in DERIVABLE:
            raise ProfileError(f"{where}: only {', '.join(DERIVABLE)} can be derived")
        if col == "session_id":  # a session is a child's numbered session: child_id/session_number
            if not isinstance(rule, dict) or rule != {"from": DERIVABLE[col]}:
                raise ProfileError(f"{where}: expected from = \"{DERIVABLE[col]}\" (the id is child_id/number)")
            out[col] = dict(rule)
            continue
        if not isinstance(rule, dict) or set(rule) != {"from", "start", "step_days"}:
            raise ProfileError(f"{where}: expected from = \"{DERIVABLE[col]}\", start = \"YYYY-MM-DD\", step_days = N")
        if rule["from"] != DERIVABLE[col]:
            raise ProfileError(f"{where}: from = {rule['from']!r}: expected \"{DERIVABLE[col]}\"")
        try:
            start = dt.date.fromisoformat(str(rule["start"]))
        except ValueError:
            raise ProfileError(f"{where}: start = {rule['start']!r}: expected a date YYYY-MM-DD") from None
        step = rule["step_days"]
        if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= 366:
            raise ProfileError(f"{where}: step_days = {step!r}: expected whole days from 1 to 366")
        out[col] = {"from": rule["from"], "start": start.isoformat(), "step_days": step}
    return out


def _code_table(table, where: str) -> dict[str, str]:
    if not isinstance(table, dict):
        raise ProfileError(f"{where}: expected code = \"modality\" lines")
    out = {}
    for code, modality in table.items():
        if modality not in MODALITIES:
            raise ProfileError(f"{where}: {code} = {modality!r}: expected one of {', '.join(MODALITIES)}")
        out[str(code).strip()] = modality
    return out


def _service_codes(raw: dict, path: Path, parent: Profile | None) -> dict:
    """``[service_codes]`` (code -> modality) and ``[service_codes.by_therapist.T07]`` overrides."""
    table = dict(raw.get("service_codes", {}))
    by = table.pop("by_therapist", {})
    codes = dict(parent.service_codes) if parent else {}
    codes.update(_code_table(table, f"profile {path}: [service_codes]"))
    therapists = {k: dict(v) for k, v in parent.service_codes_by_therapist.items()} if parent else {}
    if not isinstance(by, dict):
        raise ProfileError(f"profile {path}: [service_codes.by_therapist] must hold one table per therapist id")
    for t, tcodes in by.items():
        therapists.setdefault(str(t), {}).update(_code_table(tcodes, f"profile {path}: [service_codes.by_therapist.{t}]"))
    return {"service_codes": codes, "service_codes_by_therapist": therapists}


def _removed(raw: dict, path: Path, parent: Profile | None) -> dict:
    """``[removed]``: ``column`` (a header, or a canonical column such as attendance) and the ``values`` that mean removed."""
    rule = raw.get("removed")
    if rule is None:
        return dict(parent.removed) if parent else {}
    if (not isinstance(rule, dict) or set(rule) != {"column", "values"} or not isinstance(rule["column"], str)
            or not isinstance(rule["values"], list) or not all(isinstance(v, (str, int)) for v in rule["values"])):
        raise ProfileError(f"profile {path}: [removed]: expected column = \"header\", values = [\"...\"]")
    return {"column": rule["column"], "values": [str(v) for v in rule["values"]]}


def load(name_or_path: str = "canonical") -> Profile:
    """The profile by name (``profiles/NAME.toml``) or path, with its ``extends`` chain merged."""
    path = _resolve_path(name_or_path)
    raw = _read_toml(path)
    parent = None
    if raw.get("extends"):
        parent = load(raw["extends"])
    reads = raw.get("source", parent.reads if parent else "sessions")
    if reads not in SOURCES:
        raise ProfileError(f"profile {path}: source = {reads!r}: expected one of {', '.join(SOURCES)}")
    columns: dict[str, tuple[str, ...]] = {}
    own_tables = [*raw.get("columns", {}).values(), *(raw.get("measures", {}) or {}).values()]
    own = frozenset(normalise_header(h) for hs in own_tables for h in ([hs] if isinstance(hs, str) else hs))
    for col in CANONICAL_COLUMNS:
        mine = tuple(raw.get("columns", {}).get(col, ()))
        inherited = parent.columns.get(col, ()) if parent else ()
        columns[col] = mine + tuple(h for h in inherited if h not in mine)
    unknown_cols = set(raw.get("columns", {})) - set(CANONICAL_COLUMNS)
    if unknown_cols:
        raise ProfileError(f"profile {path}: unknown canonical column(s) {sorted(unknown_cols)}")
    wide = _measure_tables(raw, path, parent, columns)
    values: dict[str, dict[str, str]] = {f: dict(m) for f, m in (parent.values.items() if parent else [])}
    for fld, table in raw.get("values", {}).items():
        m = values.setdefault(fld, {})
        for canonical, spellings in table.items():
            for s in [canonical, *spellings]:
                m[normalise_value(s)] = canonical
    drop = tuple(raw.get("privacy", {}).get("drop_columns", ())) or (parent.drop_columns if parent else ())
    return Profile(
        name=raw.get("name", path.stem),
        description=raw.get("description", ""),
        date_format=raw.get("date_format", parent.date_format if parent else "auto"),
        delimiter=raw.get("delimiter", parent.delimiter if parent else "auto"),
        sheet=raw.get("sheet", parent.sheet if parent else None),
        columns=columns, values=values, drop_columns=drop, source=str(path), own_headers=own,
        reads=reads, measures=wide, defaults=_defaults(raw, path, parent), derive=_derive(raw, path, parent),
        **_service_codes(raw, path, parent), removed=_removed(raw, path, parent),
    )


def normalise_value(text: str) -> str:
    """Value spelling compared case-insensitively with inner whitespace collapsed."""
    return re.sub(r"\s+", " ", str(text).strip().lower())


def choose(headers: list[str]) -> Profile:
    """The profile in profiles/ that fits these headers best (specific profiles win ties with canonical).

    Profiles whose source finds every required column come first (among them: the one that
    reads most of the file's columns, then most of its own headers), so an appointments file
    is not taken for a sessions file that lacks its approach, nor session data for goals; when
    none fits, the sessions profiles are ranked as before and the load says which columns are
    missing."""
    best = load("canonical")
    used = best.fits(headers)
    found, own = best.score(headers)
    best_score = (used >= 0, used, own, found)
    for name in available():
        if name == "canonical":
            continue
        try:
            p = load(name)
        except ProfileError:
            continue
        used = p.fits(headers)
        if used < 0 and p.reads != "sessions":
            continue
        found, own = p.score(headers)
        s = (used >= 0, used, own, found)
        if s >= best_score:  # a specific profile beats canonical on a tie
            best, best_score = p, s
    return best


def spellings(name_or_path: str = "canonical") -> dict[str, dict[str, str]]:
    """How the profile's own system writes each value: {field: {canonical value: the first
    spelling listed for it under ``[values.FIELD]`` in the profile file itself, case kept}}.

    Only the file's own tables count (inherited synonyms are what a load accepts, not what
    the system writes); a value the file does not list is absent. Used by writers of exports
    in a profile's format (``pipelines.sample``)."""
    raw = _read_toml(_resolve_path(name_or_path))
    return {fld: {value: str(listed[0]) for value, listed in table.items() if listed}
            for fld, table in raw.get("values", {}).items()}
