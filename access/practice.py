"""De-identified practice figures for any role (``practice_aggregate``).

The aggregate-only analytics functions (``AGGREGATE_FUNCTIONS``) run on the whole practice,
over whole calendar months, without the team, therapist and approach filters, on a
``PracticeConnection``: the practice seen through cells of modality x age group x calendar
month, where a cell whose sessions belong to fewer than ``[privacy] small_cell_min``
children is left out of every practice figure (``access.disclosure`` rule 3). On top, a
group shown with fewer than that many children is hidden (rule 1), and the within-child
approach comparison hides a second group wherever its total would give a hidden one back
(rule 2). See ``access.scope`` for who sees what, and ``access.disclosure`` for the rules and
what they do not cover.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

import duckdb
import pandas as pd

import analytics
from access import disclosure
from access.disclosure import secondary_suppression, small_cell_min, suppress_small_cells
from access.scope import Scope, ScopedConnection, base_cursor, ident, scope_meta
from pipelines import queries, settings, warehouse

# the analytics functions that return only aggregates (practice figures for non-leads)
AGGREGATE_FUNCTIONS = frozenset({"kpis", "kpis_by", "monthly_trends", "group_grid", "approach_breakdowns"})
AGGREGATE_BY = ("modality", "age_group")  # practice breakdowns: the grain of the practice cells


@dataclass
class PracticeConnection(ScopedConnection):
    """The whole practice seen through the practice cells (``access.disclosure`` rule 3).

    Its cursor's ``sessions`` keep only the sessions of cells that enter practice figures, its
    ``observations`` only the session values of those cells whose children with a value of
    that measure are enough (per measure: engagement, on task, protests ...), its
    ``goal_ratings`` only the ratings of cells whose goal-rated children are enough, and
    every other table holding children is empty. ``cells`` is ``disclosure.practice_cells``
    of the practice (one row per modality x age group x month x measure, with the keep flags).
    """

    cells: pd.DataFrame = field(default_factory=pd.DataFrame)

    def _new_cursor(self) -> duckdb.DuckDBPyConnection:
        cur = warehouse.cursor(self.base)
        keys = ["modality", "age_group", "month_start"]
        c = self.cells.drop_duplicates(keys)  # one row per cell: its sessions and goal ratings
        v = self.cells[self.cells["measure"].notna()]  # one row per cell and measure: its values
        try:
            cur.execute(
                "create temp table _practice_cells as select unnest($modality::varchar[]) as modality, "
                "unnest($age_group::varchar[]) as age_group, unnest($month_start::date[]) as month_start, "
                "unnest($keep_sessions::boolean[]) as keep_sessions, unnest($keep_goals::boolean[]) as keep_goals",
                {"modality": _texts(c["modality"]), "age_group": _texts(c["age_group"]),
                 "month_start": _dates(c["month_start"]),
                 **{k: [bool(x) for x in c[k]] for k in ("keep_sessions", "keep_goals")}})
            cur.execute(
                "create temp table _practice_values as select unnest($modality::varchar[]) as modality, "
                "unnest($age_group::varchar[]) as age_group, unnest($month_start::date[]) as month_start, "
                "unnest($measure::varchar[]) as measure, unnest($keep_values::boolean[]) as keep_values",
                {"modality": _texts(v["modality"]), "age_group": _texts(v["age_group"]),
                 "month_start": _dates(v["month_start"]), "measure": _texts(v["measure"]),
                 "keep_values": [bool(x) for x in v["keep_values"]]})
            on = ("on t.modality is not distinct from c.modality and t.age_group is not distinct from c.age_group "
                  "and t.month_start = c.month_start")
            for name in self.tables:
                # identifiers come from the warehouse catalog, never from a user
                source = f"{ident(self.catalog)}.main.{ident(name)}"
                if name == "sessions":
                    body = (f"select t.* from {source} as t join temp.main._practice_cells as c {on} "
                            "where c.keep_sessions")
                elif name == "observations":  # each measure's values of cells whose children with one are enough
                    body = (f"select t.* from {source} as t join temp.main._practice_values as c {on} "
                            "and t.measure = c.measure where c.keep_values and t.goal_id is null")
                elif name == "goal_ratings":
                    body = f"select t.* from {source} as t join temp.main._practice_cells as c {on} where c.keep_goals"
                else:
                    body = f"select * from {source} where false"
                cur.execute(f"create temp view {ident(name)} as {body}")
        except BaseException:
            cur.close()
            raise
        return cur


def _texts(values: pd.Series) -> list[str | None]:
    return [None if pd.isna(v) else str(v) for v in values]


def _dates(values: pd.Series) -> list[dt.date | None]:
    return [None if pd.isna(d) else pd.Timestamp(d).date() for d in values]


def practice_connection(con, k: int | None = None) -> PracticeConnection:
    """A ``PracticeConnection`` of the warehouse reader ``con`` (or one of its cursors)."""
    meta = scope_meta(con, Scope.everything())
    tables = dict(meta.tables)
    if "sessions" in tables and "goal_ratings" in tables:
        cur = base_cursor(con)
        try:
            cells = cur.execute(queries.sql("practice_cells")).df()
        finally:
            cur.close()
    else:
        cells = pd.DataFrame(columns=["modality", "age_group", "month_start", "measure", "n_children",
                                      "n_children_values", "n_children_goals"])
    cells["month_start"] = pd.to_datetime(cells["month_start"])
    return PracticeConnection(con, Scope.everything(), [], tables, dict(meta.practice_facts), meta.catalog,
                              cells=disclosure.practice_cells(cells, k))


def whole_months(f):
    """``f`` with its dates widened to whole calendar months (practice figures: a day added
    to or taken from a period must not isolate the sessions of that day)."""
    d_from = f.date_from.replace(day=1) if f.date_from else None
    d_to = None
    if f.date_to:
        nxt = (f.date_to.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        d_to = nxt - dt.timedelta(days=1)
    return replace(f, date_from=d_from, date_to=d_to)


def previous_whole_months(f):
    """The same number of whole calendar months immediately before ``whole_months(f)``."""
    fm = whole_months(f)
    if fm.date_from is None or fm.date_to is None:
        raise ValueError("previous_whole_months needs both dates")
    months = (fm.date_to.year - fm.date_from.year) * 12 + fm.date_to.month - fm.date_from.month + 1
    y, m = divmod(fm.date_from.year * 12 + fm.date_from.month - 1 - months, 12)
    return replace(fm, date_from=dt.date(y, m + 1, 1), date_to=fm.date_from - dt.timedelta(days=1))


def practice_filters(f):
    """The filters practice figures honour: whole calendar months, modalities and age groups
    (the grain of the practice cells); never a team, a therapist or an approach."""
    return whole_months(replace(f, teams=(), therapists=(), approaches=()))


def _present(cells: pd.DataFrame, f) -> pd.DataFrame:
    """The practice cells of ``f`` (its months, modalities and age groups) that hold sessions,
    kept or not: which groups exist, so a group left out shows as hidden, not as absent."""
    c = cells[cells["n_children"] > 0]
    if f.date_from is not None:
        c = c[c["month_start"] >= pd.Timestamp(f.date_from)]
    if f.date_to is not None:
        c = c[c["month_start"] <= pd.Timestamp(f.date_to)]
    if f.modalities:
        c = c[c["modality"].isin(f.modalities)]
    if f.age_groups:
        c = c[c["age_group"].isin(f.age_groups)]
    return c


def _with_hidden_groups(out: pd.DataFrame, present: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``out`` (suppressed rows of groups) plus one hidden row (``suppressed``, no figures)
    for every group of ``keys`` that holds sessions but whose cells were all left out; rows
    in the order of ``keys`` (age groups in band order)."""
    have = set(map(tuple, out[keys].astype(str).to_numpy())) if len(out) else set()
    missing = present[keys].drop_duplicates()
    missing = missing[[tuple(r) not in have for r in missing.astype(str).to_numpy()]]
    if len(missing):
        extra = pd.DataFrame({c: missing[c].to_numpy() for c in keys})
        extra["suppressed"] = True
        if "group" in out.columns:
            extra["group"] = extra[keys[-1]]
        if len(out):
            out = pd.concat([out, extra], ignore_index=True)
        else:
            out = extra.reindex(columns=list(dict.fromkeys([*out.columns, *extra.columns])))
        out["suppressed"] = out["suppressed"].astype("boolean").fillna(True).astype(bool)
    bands = {label: i for i, (label, _, _) in enumerate(settings.get().age_groups)}
    order = [out[c].map(bands).fillna(len(bands)) if c == "age_group" else out[c] for c in keys]
    sort = pd.DataFrame({f"_k{i}": v for i, v in enumerate(order)}, index=out.index)
    sort["_name"] = out[keys[-1]].astype(str)
    return out.loc[sort.sort_values([*sort.columns], kind="stable").index].reset_index(drop=True)


def _suppress_block(block: dict | None, k: int, present: bool) -> dict | None:
    if block is None:
        return None
    row = suppress_small_cells(pd.DataFrame([block]), k).iloc[0]
    out = {key: (row[key] if key in ("date_from", "date_to") else
                 (None if pd.isna(row[key]) else row[key]) if key != "suppressed" else bool(row[key]))
           for key in [*block, "suppressed"]}
    if present and not out.get("n_children"):  # sessions exist, but every cell of them is left out
        out.update({key: None for key in block if key not in ("date_from", "date_to")}, suppressed=True)
    return out


def practice_aggregate(con, name: str, f, **kwargs: Any) -> Any:
    """De-identified practice figures for any role: ``analytics.<name>`` on the whole practice.

    Only the aggregate functions (``AGGREGATE_FUNCTIONS``) are allowed, by modality or age
    group only (``AGGREGATE_BY``). The filters are ``practice_filters(f)``: whole calendar
    months, modalities and age groups, no team, therapist or approach. Every figure is
    computed on ``practice_connection(con)``: from the practice cells that are shown
    (``access.disclosure`` rule 3), so no two figures differ by a hidden cell; then a
    group resting on fewer than ``[privacy] small_cell_min`` children is hidden
    (``suppress_small_cells``), and a group whose cells were all left out is listed as
    hidden. ``approach_breakdowns`` (the within-child child-led vs directed summaries per
    group, never the children) is for the whole practice whatever the modality and age
    filters, each breakdown with complementary suppression against its total.
    """
    if name not in AGGREGATE_FUNCTIONS:
        raise PermissionError(f"{name} is not a practice aggregate")
    by = kwargs.get("by")
    for b in (by if isinstance(by, (tuple, list)) else (by,)):
        if b is not None and b not in AGGREGATE_BY:
            raise PermissionError(f"practice figures by {b} are not available; use one of {', '.join(AGGREGATE_BY)}")
    k = small_cell_min()
    f = practice_filters(analytics.resolve(con, practice_filters(f)))  # dates always set: never a stored table
    if name == "approach_breakdowns":
        f = replace(f, modalities=(), age_groups=())
    pc = practice_connection(con, k)
    try:
        if name == "kpis":  # this period and the same number of whole months before it
            prev = previous_whole_months(f)
            result = analytics.kpis(pc, f, previous=prev, **kwargs)
            return {"current": _suppress_block(result["current"], k, not _present(pc.cells, f).empty),
                    "previous": _suppress_block(result["previous"], k, not _present(pc.cells, prev).empty)}
        result = getattr(analytics, name)(pc, f, **kwargs)
    finally:
        pc.close()
    present = _present(pc.cells, f)
    if name == "approach_breakdowns":  # {by: one row per group}; each breakdown against its total
        out_blocks = {}
        for b, block in result.items():
            d = suppress_small_cells(block, k)
            if b is not None:
                d = secondary_suppression(d, [[]], k, n_col="n_children_considered")
                d = secondary_suppression(d, [[]], k, n_col="n_children")
            d["estimated"] = d["estimated"].astype(bool) & ~d["suppressed"]
            out_blocks[b] = d
        return out_blocks
    out = suppress_small_cells(result, k)
    if name == "group_grid":
        out = _with_hidden_groups(out, present, ["modality", "age_group"])
        out["below_min_n"] = out["below_min_n"].astype("boolean").fillna(True).astype(bool) | out["suppressed"]
    elif name == "kpis_by":
        out = _with_hidden_groups(out, present, [by])
    elif name == "monthly_trends":
        if len(out):
            out["month_start"] = pd.to_datetime(out["month_start"])
        out = _with_hidden_groups(out, present, ["month_start"] + ([by] if by else []))
    return out
