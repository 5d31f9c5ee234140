"""The access list: who may sign in, with which role and scope (edited by a clinical lead).

A TOML file (``$PIPELINES_ACCESS`` or ``[access] file`` in settings.toml, default
``config/access.toml``), one ``[[user]]`` table per person::

    [[user]]
    email = "lead@practice.example"
    role = "lead"                      # lead | supervisor | therapist

    [[user]]
    email = "sam@practice.example"
    role = "supervisor"
    teams = ["North"]                  # the team(s) they supervise
    therapist_id = "T07"               # optional: their own caseload too

    [[user]]
    email = "alex@practice.example"
    role = "therapist"
    therapist_id = "T01"               # the id the practice-management export uses

Emails are matched without regard to case. People not on the list see a polite refusal.
Staff emails and pseudonymous therapist ids only: no child is named here.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pipelines import settings, warehouse
from access.scope import ROLES, Scope


class AccessError(ValueError):
    """The access file is missing or wrong; the message names the file and the entry."""


@dataclass(frozen=True)
class User:
    email: str
    role: str
    teams: tuple[str, ...] = ()
    therapist_id: str | None = None

    @property
    def scope(self) -> Scope:
        return Scope(self.role, self.teams, self.therapist_id)


def access_path() -> Path:
    """``$PIPELINES_ACCESS``, else ``[access] file`` of settings.toml (relative to the project)."""
    env = os.environ.get("PIPELINES_ACCESS")
    if env:
        return Path(env)
    p = Path(settings.get().access.file)
    return p if p.is_absolute() else warehouse.ROOT / p


def normalise_email(email: str) -> str:
    return str(email or "").strip().lower()


def _user(entry: object, where: str) -> User:
    if not isinstance(entry, dict):
        raise AccessError(f"{where}: expected a table with email and role")
    unknown = set(entry) - {"email", "role", "teams", "therapist_id"}
    if unknown:
        raise AccessError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    email = normalise_email(entry.get("email", ""))
    if "@" not in email:
        raise AccessError(f"{where}: email {entry.get('email')!r} is not an email address")
    role = str(entry.get("role", "")).strip().lower()
    if role not in ROLES:
        raise AccessError(f"{where} ({email}): role must be one of {', '.join(ROLES)}; got {entry.get('role')!r}")
    teams = entry.get("teams", [])
    if isinstance(teams, str):
        teams = [teams]
    if not isinstance(teams, list):
        raise AccessError(f"{where} ({email}): teams must be a list of team names")
    teams = tuple(str(t).strip() for t in teams if str(t).strip())
    tid = entry.get("therapist_id")
    tid = str(tid).strip() if tid not in (None, "") else None
    try:
        user = User(email, role, teams if role != "lead" else (), tid if role != "lead" else None)
        user.scope  # noqa: B018 - validates: a supervisor needs teams, a therapist an id
    except ValueError as exc:
        raise AccessError(f"{where} ({email}): {exc}") from None
    return user


def validate(entries: list[dict], where: str = "access list") -> list[User]:
    """``User``s from plain dicts; raises ``AccessError`` naming the entry at fault."""
    users: list[User] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries, start=1):
        u = _user(entry, f"{where}: user {i}")
        if u.email in seen:
            raise AccessError(f"{where}: user {i} ({u.email}) is listed twice (also user {seen[u.email]})")
        seen[u.email] = i
        users.append(u)
    return users


def load(path: Path | None = None) -> list[User]:
    """The users of the access file; ``AccessError`` (naming the file) when missing or invalid."""
    path = Path(path or access_path())
    if not path.is_file():
        raise AccessError(f"{path}: no access file; a clinical lead creates it (see config/access.example.toml)")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise AccessError(f"{path}: {exc}") from None
    entries = doc.get("user", [])
    if not isinstance(entries, list):
        raise AccessError(f"{path}: expected [[user]] tables")
    return validate(entries, str(path))


def lookup(users: list[User], email: str | None) -> User | None:
    """The user with this email (case-insensitive), or None."""
    e = normalise_email(email or "")
    return next((u for u in users if u.email == e), None) if e else None


def table_rows(records: list[dict]) -> tuple[list[dict], list[str]]:
    """Rows of the Access page's table as entries (with ``_row``, numbered from 1), and what
    is wrong with them by row number; empty rows are skipped."""
    entries, problems = [], []
    for n, r in enumerate(records, start=1):
        email = str(r.get("email") or "").strip()
        role = str(r.get("role") or "").strip()
        raw_teams = r.get("teams")
        teams = [str(t) for t in raw_teams] if isinstance(raw_teams, (list, tuple)) else \
            [t.strip() for t in str(raw_teams or "").split(",") if t.strip()]
        tid = str(r.get("therapist_id") or "").strip() or None
        if not (email or role or teams or tid):
            continue
        if not email or not role:
            problems.append(f"row {n}: needs both an email and a role")
            continue
        entries.append({"email": email, "role": role, "teams": teams, "therapist_id": tid, "_row": n})
    return entries, problems


def unknown_values(entries: list[dict], teams: list[str], therapist_ids: set[str]) -> list[str]:
    """Warnings for teams and therapist ids the loaded data does not have (they would show no
    children), with the id of a different case when there is one."""
    out = []
    for e in entries:
        for t in e["teams"]:
            if teams and t not in teams:
                near = [k for k in teams if k.lower() == t.lower()]
                out.append(f"row {e['_row']}: team `{t}` is not in the loaded data, so it shows no children"
                           + (f" (did you mean `{near[0]}`?)" if near else ""))
        tid = e["therapist_id"]
        if tid and therapist_ids and tid not in therapist_ids:
            near = [k for k in therapist_ids if k.lower() == tid.lower()]
            out.append(f"row {e['_row']}: therapist id `{tid}` is not in the loaded data"
                       + (f" (did you mean `{near[0]}`?)" if near else ""))
    return out


def _toml_str(v: str) -> str:
    return json.dumps(v, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def dumps(users: list[User]) -> str:
    """The access file's text for ``users``."""
    lines = ["# Who may sign in to the dashboard, and what they may see (see access/access_list.py).",
             "# Edited by a clinical lead on the Access page or by hand. Roles: lead, supervisor, therapist.", ""]
    for u in users:
        lines += ["[[user]]", f"email = {_toml_str(u.email)}", f"role = {_toml_str(u.role)}"]
        if u.teams:
            lines.append("teams = [" + ", ".join(_toml_str(t) for t in u.teams) + "]")
        if u.therapist_id:
            lines.append(f"therapist_id = {_toml_str(u.therapist_id)}")
        lines.append("")
    return "\n".join(lines)


def save(users: list[User], path: Path | None = None) -> Path:
    """Write the access file atomically (a reader never sees half of it).

    Refuses a list without a lead, so the practice cannot lock itself out.
    """
    path = Path(path or access_path())
    users = validate([{"email": u.email, "role": u.role, "teams": list(u.teams), "therapist_id": u.therapist_id}
                      for u in users])
    if not any(u.role == "lead" for u in users):
        raise AccessError("the access list needs at least one clinical lead")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(dumps(users), encoding="utf-8")
    os.replace(tmp, path)
    return path
