"""The charts of one child's story (plotly), shared by the child page and the report: one per
goal, GAS levels with the expected level (or percent correct with the mastery line), phase
lines where the approach changed or a goal started, was met or stopped, and the goal's
status (met, mastered, stalled, no recent rating) marked on the chart itself."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analytics import child_story as cs
from reports import figure_table, theme
from reports.child_report import words
from reports.formats import day, is_missing

STATUS_COLORS = {cs.MET: theme.BLUISH_GREEN, cs.MASTERED: theme.BLUISH_GREEN, cs.STALLED: theme.VERMILLION,
                 cs.NO_RECENT: "#9E6B00", cs.NO_RATING: "#9E6B00", cs.STOPPED: theme.GREY,
                 cs.IN_PROGRESS: theme.BLUE}


def goal_figure(goal: pd.Series, obs: pd.DataFrame, phases: pd.DataFrame, expected: int, *,
                x_range: list | None = None, parent: bool = False, width: int | None = None,
                titled: bool = True) -> go.Figure:
    """One goal's chart. ``obs``: the child's goal observations (``child_goal_observations``);
    ``phases``: ``child_phases``; ``parent``: larger type, no approach colours or codes, each
    level's description on the y axis (the therapist's chart numbers the levels: their
    descriptions are listed beside it); ``titled=False``: no chart title (the report's heading
    names the goal)."""
    trials = goal.get("kind") == "trials"
    d = obs[obs["goal_uid"] == goal["goal_uid"]]
    d = d[d["percent_correct"].notna()] if trials else d[(d["measure"] == "gas") & d["value"].notna()]
    d = d.sort_values(["session_date", "session_id"])
    y = d["percent_correct"] if trials else d["value"]
    fig = go.Figure()
    big = 16 if parent else 12
    # the target line's label goes to the side away from the status label (which sits beside its point)
    at = _status_at(goal, d)
    left, status_text = (_place(at, _status_words(goal, at, parent), d, x_range, big, parent, width)
                         if at is not None else (False, ""))
    side = "top right" if at is not None and not left else "top left"
    shift = 8 if side == "top left" else 0            # clear of the y tick labels
    if trials:
        pct = goal.get("mastery_percent")
        if not is_missing(pct):
            crit = goal.get("mastery_criterion")
            fig.add_hline(y=float(pct), line={"color": theme.EXPECTED_LINE, "width": 1.2, "dash": "dash"},
                          annotation_text=("the aim" if parent else f"mastery: {crit}"),
                          annotation_position=side, annotation_font={"size": big - 1},
                          annotation_bgcolor="rgba(255,255,255,0.85)", annotation_xshift=shift)
    else:
        fig.add_hline(y=expected, line={"color": theme.EXPECTED_LINE, "width": 1.2, "dash": "dash"},
                      annotation_text=("what we aim for" if parent else f"expected level ({expected:+d})".replace("+0", "0")),
                      annotation_position=side, annotation_font={"size": big - 1},
                      annotation_bgcolor="rgba(255,255,255,0.85)", annotation_xshift=shift)
    # phase lines: the approach changing (not in the family version: its charts show no approach)
    # and this goal starting, being met or stopped; a label near the right edge reads leftwards
    mine = phases["goal_id"] == goal["goal_id"] if len(phases) else None
    shown = (phases if not len(phases) else phases[mine] if parent else phases[(phases["kind"] == "approach") | mine])
    for i, (_, p) in enumerate(shown.iterrows()):
        x = pd.Timestamp(p["date"])
        right = not d.empty and _late(x, d, x_range, 0.75)
        fig.add_vline(x=x, line={"color": theme.GREY, "width": 1, "dash": "dot"})
        fig.add_annotation(x=x, y=1 - 0.09 * (i % 3), yref="paper", text=phase_label(p, parent), showarrow=False,
                           xanchor="right" if right else "left", yanchor="top",
                           font={"size": big - 2, "color": theme.AXIS_TEXT})
    fig.add_scatter(x=d["session_date"], y=y, mode="lines", line={"color": theme.GREY, "width": 1.5},
                    showlegend=False, hoverinfo="skip")
    if parent:
        colors = theme.BLUE
    else:
        colors = [theme.APPROACH_COLORS.get(a, theme.GREY) for a in d["approach"].fillna("mixed")]
    fig.add_scatter(x=d["session_date"], y=y, mode="markers", showlegend=False,
                    marker={"size": 11 if parent else 9, "color": colors, "line": {"width": 1, "color": "white"}},
                    customdata=d[["approach"]].fillna("").to_numpy(),
                    hovertemplate=("%{x|%d %b %Y}<br>" + ("%{y:.0f}% correct" if trials else "level %{y:+d}")
                                   + ("" if parent else "<br>session: %{customdata[0]}") + "<extra></extra>"))
    _mark_status(fig, goal, d, y, big, parent, left, status_text)
    title = (words.goal_title(goal) if not parent else
             (str(goal["goal_text"]) if not is_missing(goal.get("goal_text")) else f"Goal {goal['goal_id']}"))
    # the layout given whole and the figure built once (theme.figure), not theme.style and update_* calls
    lay = fig.layout.to_plotly_json()
    lay.pop("template", None)
    updates = [theme.layout(title, x=None if parent else "Session date",
                            y=("Correct (%)" if trials else ("Progress" if parent else "GAS level")),
                            height=(360 if parent and not trials else 330 if parent else 280) - (0 if titled else 40)),
               {"font": {"size": big + 1}, "showlegend": False}]
    if not titled:
        updates.append({"margin": {"t": 24}})
    if width:
        updates.append({"width": width, "autosize": False})
    if trials:
        updates.append({"yaxis": {"range": [-3, 105], "ticksuffix": "%"}})
    else:
        vals = [-3, -2, -1, 0, 1, 2]
        if parent:
            text = [_wrap(words.level_text(goal, v, plain=True), 30) for v in vals]
            updates.append({"yaxis": {"tickfont": {"size": 13}}, "xaxis": {"tickfont": {"size": 13}}})
        else:
            text = ["-3", "-2", "-1", "0", "+1", "+2"]
        updates.append({"yaxis": {"range": [-3.4, 2.6], "tickvals": vals, "ticktext": text, "zeroline": False}})
    updates.append({"xaxis": {"type": "date", **date_ticks(x_range or [d["session_date"].min(), d["session_date"].max()]),
                              "range": x_range}})
    fig = theme.figure(list(fig.data), theme.merge(lay, *updates))
    if not titled:
        fig.update_layout(title=None)  # no title (an empty one, as before)
    cols = [("session_date", "Date", "date"), ("percent_correct" if trials else "value",
                                                "Correct (%)" if trials else "GAS level", "num1" if trials else "level")]
    if not parent:
        cols.append(("approach", "Session", "text"))
    return figure_table.attach(fig, d, cols)


def date_ticks(span: list) -> dict:
    """Date axis ticks that never repeat a label: one per month (two or three on a long span)
    labelled "Aug 2026", or days ("9 Aug") on a span under two months."""
    lo, hi = (pd.Timestamp(v) for v in span) if span and not any(is_missing(v) for v in span) else (None, None)
    days = (hi - lo).days if lo is not None else 0
    if days < 60:
        return {"tickformat": "%d %b", "dtick": None}
    return {"tickformat": "%b %Y", "dtick": "M3" if days > 550 else "M2" if days > 280 else "M1"}


def _wrap(text: str, n: int = 26, lines: int = 2) -> str:
    """A level description as a tick label: words on up to ``lines`` lines of about ``n``
    characters (``<br>`` between), the rest cut with an ellipsis."""
    out, line = [], ""
    for w in text.split():
        if line and len(line) + 1 + len(w) > n:
            out.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    out.append(line)
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1][: n - 1].rstrip() + "…"
    return "<br>".join(out)


LABELLED = (cs.MET, cs.MASTERED, cs.STALLED, cs.NO_RECENT)
# a goal's own phase lines on its chart: no goal id (the chart is that goal's)
GOAL_PHASE_WORDS = {"goal started": "goal started", "goal met": "goal met", "goal discontinued": "goal stopped"}
FAMILY_PHASE_WORDS = {"goal started": "we started this goal", "goal met": "goal reached",
                      "goal discontinued": "we stopped this goal"}


def phase_label(p: pd.Series, parent: bool = False) -> str:
    """The label of one phase line: the approach's ("directed from here") or the goal's own
    ("goal started"; for a family "we started this goal")."""
    kind = str(p["kind"])
    if kind == "approach":
        return str(p["label"])
    return (FAMILY_PHASE_WORDS if parent else GOAL_PHASE_WORDS).get(kind, str(p["label"]))


def _status_at(goal: pd.Series, d: pd.DataFrame) -> pd.Timestamp | None:
    """The date of the point the status label marks: the first met rating, else the latest."""
    if goal.get("status") not in LABELLED or d.empty:
        return None
    if goal.get("status") in (cs.MET, cs.MASTERED) and not is_missing(goal.get("first_met_date")):
        return pd.Timestamp(goal["first_met_date"])
    return pd.Timestamp(d["session_date"].iloc[-1])


def _late(at: pd.Timestamp, d: pd.DataFrame, x_range: list | None, share: float = 0.5) -> bool:
    """Whether ``at`` lies beyond ``share`` of the axis (``x_range``, else the ratings' span):
    by default, in its right half."""
    lo, hi = (pd.Timestamp(v) for v in (x_range or [d["session_date"].iloc[0], d["session_date"].iloc[-1]]))
    return hi > lo and (at - lo) / (hi - lo) > share


def _status_words(goal: pd.Series, at: pd.Timestamp, parent: bool) -> str:
    """The status label's text: "met 1 Oct 2026", "no recent rating (last 23 Jul 2026)"."""
    status = goal.get("status")
    label = {cs.MET: "reached" if parent else "met", cs.MASTERED: "reached" if parent else "mastered",
             cs.STALLED: "slow lately" if parent else "stalled",
             cs.NO_RECENT: "not checked lately" if parent else "no recent rating"}.get(status, "")
    if status in (cs.MET, cs.MASTERED) and not is_missing(goal.get("first_met_date")):
        return f"{label} {day(at)}"
    return f"{label} (last {day(at)})"


def _place(at: pd.Timestamp, text: str, d: pd.DataFrame, x_range: list | None, size: int, parent: bool,
           width: int | None) -> tuple[bool, str]:
    """Where the status label goes: (to the left of its point?, its text). Right of the point
    when the room there (on an estimated plot width) fits the text, else left when that fits or
    has more room; a label that fits neither side on one line is broken before its "(last ...)"."""
    lo, hi = (pd.Timestamp(v) for v in (x_range or [d["session_date"].iloc[0], d["session_date"].iloc[-1]]))
    share = (at - lo) / (hi - lo) if hi > lo else 0.5
    plot = (width or 700) - (230 if parent else 100)          # less the y axis's tick labels and title
    right, left = (1 - share) * plot, share * plot

    def need(t: str) -> float:                                  # bold text, and the arrow's offset
        return max(len(line) for line in t.split("<br>")) * size * 0.62 + 30

    if max(right, left) < need(text) and " (" in text:
        text = text.replace(" (", "<br>(", 1)
    if right >= need(text):
        return False, text
    return left >= need(text) or left > right, text


def _mark_status(fig: go.Figure, goal: pd.Series, d: pd.DataFrame, y: pd.Series, size: int, parent: bool,
                 late: bool = False, text: str = "") -> None:
    """The status on the chart: a ring and a label at the point it refers to (the first met
    rating; the latest rating of a stalled goal or one not rated lately). The label reads to the
    right of the point unless ``late`` (``_reads_left``: too little room there), so it stays
    inside the plot area."""
    status = goal.get("status")
    color = STATUS_COLORS.get(status, theme.BLUE)
    label = {cs.MET: "reached" if parent else "met", cs.MASTERED: "reached" if parent else "mastered",
             cs.STALLED: "slow lately" if parent else "stalled",
             cs.NO_RECENT: "not checked lately" if parent else "no recent rating"}.get(status)
    if label is None or d.empty:
        if status == cs.STOPPED and not is_missing(goal.get("discontinued_date")):
            fig.add_annotation(x=pd.Timestamp(goal["discontinued_date"]), y=0.02, yref="paper", text="discontinued",
                               showarrow=False, font={"size": size, "color": theme.AXIS_TEXT})
        return
    if status in (cs.MET, cs.MASTERED) and not is_missing(goal.get("first_met_date")):
        at = pd.Timestamp(goal["first_met_date"])
        hit = d["session_date"] == at
        yy = float(y[hit.to_numpy()].iloc[0]) if hit.any() else float(y.iloc[-1])
        text = text or f"{label} {day(at)}"
    else:
        at, yy = pd.Timestamp(d["session_date"].iloc[-1]), float(y.iloc[-1])
        text = text or f"{label} (last {day(at)})"
        if status == cs.STALLED and len(d) > 1:
            since = pd.Timestamp(goal.get("status_date") or at) - pd.Timedelta(weeks=12)
            fig.add_vrect(x0=max(since, pd.Timestamp(d["session_date"].iloc[0])), x1=at,
                          fillcolor=theme.VERMILLION, opacity=0.08, line_width=0)
    fig.add_scatter(x=[at], y=[yy], mode="markers", showlegend=False, hoverinfo="skip",
                    marker={"size": 20, "color": "rgba(0,0,0,0)", "line": {"width": 2.5, "color": color}})
    low = yy < (50 if goal.get("kind") == "trials" else 0.5)
    fig.add_annotation(x=at, y=yy, text="<br>".join(f"<b>{t}</b>" for t in text.split("<br>")), showarrow=True, arrowhead=0, ax=-20 if late else 20,
                       ay=-30 if low else 30, xanchor="right" if late else "left",
                       font={"size": size, "color": color}, bgcolor="rgba(255,255,255,0.85)")
