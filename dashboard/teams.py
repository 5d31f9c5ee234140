"""The viewer's own team: the team the Team meeting page opens on when the address names none.

* a supervisor: their first team in the access list (that has sessions loaded);
* a therapist: the team of their own sessions (of most of their children in the period,
  when they work in more than one);
* a lead (or the local single-user mode): the team with the most children seen in the
  period; the first team by name when no team has a session in it.

Ties go to the first team by name. ``own_team`` says which rule chose, in words, so the page
can tell the viewer.
"""

from __future__ import annotations

from typing import Any

from dashboard import data


def _most_children(teams: list[str], f: Any) -> str | None:
    """The team of ``teams`` with the most active children under the filter ``f`` (ties: by name)."""
    by = data.call("kpis_by", f, by="team")
    if by is None or by.empty or "active_children" not in by.columns:
        return None
    by = by[by["team"].astype(str).isin(teams) & (by["active_children"].fillna(0) > 0)]
    if by.empty:
        return None
    by = by.assign(team=by["team"].astype(str)).sort_values(["active_children", "team"], ascending=[False, True])
    return str(by["team"].iloc[0])


def own_team(viewer: Any, teams: list[str], f: Any) -> tuple[str | None, str]:
    """(team, why) for ``viewer`` among the ``teams`` they can choose, for the period of ``f``
    (``data.Filters``); (None, "") when there is no team to choose."""
    if not teams:
        return None, ""
    role = getattr(viewer, "role", "lead")
    if role == "supervisor":
        mine = [t for t in getattr(viewer.scope, "teams", ()) if t in teams]
        if mine:
            return mine[0], "your first team in the access list"
    if role == "therapist" and getattr(viewer.scope, "therapist_id", None):
        own = f.__class__(date_from=f.date_from, date_to=f.date_to, therapists=(viewer.scope.therapist_id,))
        team = _most_children(teams, own)
        if team is not None:
            return team, "the team of your sessions in the period"
    else:
        team = _most_children(teams, f)
        if team is not None:
            return team, "the team with the most children seen in the period"
    return sorted(teams)[0], "the first team by name (no team has sessions in the period)"
