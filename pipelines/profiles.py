"""Mapping profiles: how one practice-management system's export maps onto the contract.

A profile is a TOML file (see ``profiles/canonical.toml``): header names per canonical
column, value synonyms per field, the date format, the CSV delimiter and the Excel sheet.
Users add their own by dropping a ``.toml`` file into ``profiles/`` (or passing a path).
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

PROFILES_DIR = Path(__file__).resolve().parent.parent / "profiles"

REQUIRED = ("session_id", "child_id", "therapist_id", "session_date", "modality", "approach")
OPTIONAL = (
    "team", "date_of_birth", "age_years", "attendance", "duration_min", "setting",
    "engagement", "goal_id", "goal_domain", "gas_level", "goal_weight", "measure",
    "measure_score",
)
CANONICAL_COLUMNS = REQUIRED + OPTIONAL
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
    source: str = ""
    own_headers: frozenset[str] = field(default_factory=frozenset)

    def as_dict(self) -> dict:
        """A JSON-serialisable copy, stored with each archived file so rebuilds replay it."""
        return {
            "name": self.name, "description": self.description,
            "date_format": self.date_format, "delimiter": self.delimiter, "sheet": self.sheet,
            "columns": {k: list(v) for k, v in self.columns.items()},
            "values": self.values, "drop_columns": list(self.drop_columns),
            "own_headers": sorted(self.own_headers),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Profile":
        return cls(
            name=d["name"], description=d.get("description", ""),
            date_format=d["date_format"], delimiter=d["delimiter"], sheet=d.get("sheet"),
            columns={k: tuple(v) for k, v in d["columns"].items()},
            values={k: dict(v) for k, v in d["values"].items()},
            drop_columns=tuple(d["drop_columns"]), source="archive manifest",
            own_headers=frozenset(d.get("own_headers", ())),
        )

    def synonym_rows(self) -> list[tuple[str, str, str]]:
        """(field, normalised spelling, canonical value) rows for the staging SQL."""
        return [(f, raw, value) for f, m in self.values.items() for raw, value in m.items()]

    def map_headers(self, headers: list[str]) -> "HeaderMap":
        """Match an export's headers to canonical columns; raise when required ones are missing."""
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
        drop_norm = {normalise_header(d) for d in self.drop_columns}
        dropped = [h for h in headers if normalise_header(h) in drop_norm and h not in mapping.values()]
        missing = [c for c in REQUIRED if c not in mapping]
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
        ignored = [h for h in headers if h not in mapping.values() and h not in dropped]
        return HeaderMap(mapping=mapping, dropped=dropped, ignored=ignored)

    def score(self, headers: list[str]) -> tuple[int, int]:
        """How well this profile fits: (required columns found, own headers matched)."""
        norm = {normalise_header(h) for h in headers}
        found = sum(any(normalise_header(a) in norm for a in self.columns.get(c, ())) for c in REQUIRED)
        return found, len(norm & self.own_headers)


@dataclass(frozen=True)
class HeaderMap:
    mapping: dict[str, str]  # canonical column -> header in the file
    dropped: list[str]       # name-bearing columns dropped at load
    ignored: list[str]       # other columns we do not use


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


def load(name_or_path: str = "canonical") -> Profile:
    """The profile by name (``profiles/NAME.toml``) or path, with its ``extends`` chain merged."""
    path = _resolve_path(name_or_path)
    raw = _read_toml(path)
    parent = None
    if raw.get("extends"):
        parent = load(raw["extends"])
    columns: dict[str, tuple[str, ...]] = {}
    own = frozenset(normalise_header(h) for hs in raw.get("columns", {}).values() for h in hs)
    for col in CANONICAL_COLUMNS:
        mine = tuple(raw.get("columns", {}).get(col, ()))
        inherited = parent.columns.get(col, ()) if parent else ()
        columns[col] = mine + tuple(h for h in inherited if h not in mine)
    unknown_cols = set(raw.get("columns", {})) - set(CANONICAL_COLUMNS)
    if unknown_cols:
        raise ProfileError(f"profile {path}: unknown canonical column(s) {sorted(unknown_cols)}")
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
    )


def normalise_value(text: str) -> str:
    """Value spelling compared case-insensitively with inner whitespace collapsed."""
    return re.sub(r"\s+", " ", str(text).strip().lower())


def choose(headers: list[str]) -> Profile:
    """The profile in profiles/ that fits these headers best (specific profiles win ties with canonical)."""
    best = load("canonical")
    best_score = best.score(headers)
    for name in available():
        if name == "canonical":
            continue
        try:
            p = load(name)
        except ProfileError:
            continue
        s = p.score(headers)
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
