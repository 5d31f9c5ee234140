"""Needs attention: every flag across the caseload, and what the team has done about each.

Tick rows to acknowledge, snooze until a date, assign, add a short note or reopen
(``access.alerts``: an append-only history beside the warehouse, scoped to the viewer's
children and recorded in the audit log first). Handled flags (acknowledged, or snoozed until a
later date) are hidden unless "Show handled" is on. The flag and severity chips and "Show
handled" are in the address (``?flag=possible_dropout&severity=high&handled=1``), like the
sidebar filters; a link's unknown value is ignored with a warning.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3

import pandas as pd
import streamlit as st

import analytics
from access import access_list, alerts
from dashboard import auth, data, layout, ui
from pipelines import settings
from reports import cells

PAGE = "Needs attention"
URL_KEYS = ("flag", "severity", "handled")
SEVERITIES = ("high", "medium", "low")
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
DONE = {"acknowledge": "Acknowledged", "snooze": "Snoozed", "assign": "Assigned", "note": "Added a note to",
        "reopen": "Reopened"}
ss = st.session_state

st.title("Needs attention", anchor=False)
f = ui.require_data()
ui.caption_filters()

fl = ui.fetch("flags", f)
as_of = ui.fetch("as_of")
thr = settings.get().flags
st.caption(
    f"Flags are worked out as of the latest session loaded ({ui.day(as_of)}), for the children in the filters: "
    f"falling engagement or any other outcome measure getting worse in its direction (a rising count of "
    f"{ui.measure_meta(ui.measure()).label.lower() if ui.measure() != 'engagement' else 'protests'} where lower "
    f"is better) over the last {thr.engagement_window_weeks} weeks, goals stalled for "
    f"{thr.gas_stall_weeks} weeks, attendance under {ui.pct(thr.attendance_min_rate)}, "
    f"no session for {thr.dropout_days} days, no goal rating for {thr.rating_gap_days} days. "
    "Thresholds live in settings.toml.")
if fl.empty:
    st.success("No child in this selection has a flag.", icon=":material/check_circle:")
    st.stop()

fl = fl.copy()
# severity: a number (3 high .. 1 low) with severity_label; title: the flag in words
if "severity_label" not in fl:
    fl["severity_label"] = fl["severity"].astype(str)
if "title" not in fl:
    fl["title"] = fl["flag"].astype(str)
TITLES = {code: title for code, (_s, _p, title) in analytics.FLAG_CODES.items()}
TITLES.update(dict(zip(fl["flag"].astype(str), fl["title"].astype(str))))

# ----------------------------------------------------------------------------- chips and "show handled" in the URL


def _from_url(url: dict[str, list[str]]) -> tuple[dict, list[str]]:
    """The chips' state from the address; unknown values dropped and named (escaped) in the warnings."""
    state: dict = {"kinds": [], "sevs": [], "handled": False}
    warnings: list[str] = []
    for key, field, allowed in (("flag", "kinds", TITLES), ("severity", "sevs", SEVERITIES)):
        for raw in url.get(key, []):
            for part in [p.strip() for p in raw.split(",") if p.strip()]:
                if part in allowed:
                    if part not in state[field]:
                        state[field].append(part)
                else:
                    warnings.append(f"{key} {ui.md_escape(part)} is unknown (use {', '.join(allowed)})")
    if url.get("handled"):
        raw = url["handled"][-1].strip().lower()
        if raw in TRUE or raw in FALSE:
            state["handled"] = raw in TRUE
        else:
            warnings.append(f"handled={ui.md_escape(raw)} is not 1 or 0")
    return state, warnings


def _to_url(state: dict) -> dict[str, list[str]]:
    out = {"flag": list(state["kinds"]), "severity": list(state["sevs"])}
    if state["handled"]:
        out["handled"] = ["1"]
    return {k: v for k, v in out.items() if v}


url = {k: st.query_params.get_all(k) for k in URL_KEYS if st.query_params.get_all(k)}
if "_na_state" not in ss or (url and url != ss.get("_na_url_written")):
    # a fresh session, or a link/bookmark that carries chips: the address wins
    ss["_na_state"], ss["_na_warnings"] = _from_url(url)
    ss["na_kinds"], ss["na_sevs"] = list(ss["_na_state"]["kinds"]), list(ss["_na_state"]["sevs"])
    ss["na_handled"] = ss["_na_state"]["handled"]
else:  # the widgets' state is dropped while another page runs: the chips outlive them
    for wkey, field in (("na_kinds", "kinds"), ("na_sevs", "sevs"), ("na_handled", "handled")):
        if wkey not in ss:
            ss[wkey] = ss["_na_state"][field]
for w in ss.get("_na_warnings") or []:
    st.warning(f"Ignored from the link: {w}.", icon=":material/link_off:")

on = alerts.today()
try:
    hist = alerts.history(children=set(map(str, fl["child_id"])))
    store_ok = True
except (sqlite3.Error, OSError) as exc:
    hist = alerts.no_history()
    store_ok = False
    st.error(f"The alert history ({ui.md_code(alerts.alerts_path())}) cannot be read ({ui.md_escape(exc)}): every "
             "flag is shown as new and no action can be saved until it can.", icon=":material/error:")
fl = fl.join(alerts.states(fl, hist, on))

show_handled = st.toggle("Show handled", key="na_handled",
                         help="Acknowledged flags, and flags snoozed until a later date, are hidden unless this is on.")
base = fl if show_handled else fl[~fl["handled"]]
kinds = list(dict.fromkeys([*fl["flag"].astype(str), *ss["na_kinds"]]))  # most urgent first, as analytics orders
sevs = sorted({*fl["severity_label"].astype(str), *ss["na_sevs"]}, key=lambda s: SEVERITIES.index(s)
              if s in SEVERITIES else 9)
c1, c2 = st.container(), st.container()
pick_kinds = c1.pills("Flag", kinds, selection_mode="multi", key="na_kinds",
                      format_func=lambda k: f"{ui.md_escape(TITLES.get(k, k))} ({int((base['flag'] == k).sum()):,})")
pick_sevs = c2.pills("Severity", sevs, selection_mode="multi", key="na_sevs",
                     format_func=lambda s: f"{ui.md_escape(s)} ({int((base['severity_label'] == s).sum()):,})")
ss["_na_state"] = {"kinds": list(pick_kinds or []), "sevs": list(pick_sevs or []), "handled": bool(show_handled)}
url_now = _to_url(ss["_na_state"])
for key in URL_KEYS:
    if key in url_now:
        if st.query_params.get_all(key) != url_now[key]:
            st.query_params[key] = url_now[key]
    elif key in st.query_params:
        del st.query_params[key]
ss["_na_url_written"] = url_now

chosen = fl
if pick_kinds:
    chosen = chosen[chosen["flag"].isin(pick_kinds)]
if pick_sevs:
    chosen = chosen[chosen["severity_label"].isin(pick_sevs)]
view = chosen if show_handled else chosen[~chosen["handled"]]
hidden = 0 if show_handled else int(chosen["handled"].sum())

if flash := ss.pop("_na_flash", None):
    st.success(flash, icon=":material/check:")
if view.empty:
    if hidden:
        ui.empty(f"No open flags of that choice: {hidden:,} {'is' if hidden == 1 else 'are'} handled (acknowledged or "
                 "snoozed). Switch on *Show handled* to see them.")
    else:
        ui.empty("No flags of that kind. Clear the flag or severity choice above.")
    st.stop()

with layout.metric_row("flags"):  # wraps at 800 px instead of cutting the labels
    layout.metric_card("Flags", f"{len(view):,}")
    layout.metric_card("Children flagged", f"{view['child_id'].nunique():,}")
    layout.metric_card("High severity", f"{int((view['severity_label'] == 'high').sum()):,}")
    layout.metric_card("Handled", f"{int(chosen['handled'].sum()):,}",
                       help="Acknowledged, or snoozed until a later date" + ("" if show_handled else ": hidden from the list"))
if hidden:
    st.caption(f"{hidden:,} handled flag{'s' if hidden != 1 else ''} hidden (acknowledged, or snoozed until a later "
               "date). Switch on *Show handled* to see them.")

# ----------------------------------------------------------------------------- the table


_TITLES: dict[str, str] = {}  # this run's: the catalogue is asked once per measure, not once per flag


def _measure_title(m) -> str | None:
    """A flag's measure as the catalogue names it ("Protests (protests per session)"); None for none."""
    if m is None or (not isinstance(m, str) and pd.isna(m)) or str(m) in ("", "nan"):
        return None
    m = str(m)
    if m not in _TITLES:
        try:
            _TITLES[m] = ui.measure_title(m)
        except KeyError:
            _TITLES[m] = m
    return _TITLES[m]


view = view.copy()
table = pd.DataFrame({
    "page": ui.child_urls(view["child_id"]),
    "child_id": view["child_id"].astype(str), "severity_label": view["severity_label"].astype(str),
    "title": view["title"].astype(str), "status_text": view["status_text"], "assignee": view["assignee"],
    "note": view["note"], "reason": view["reason"], "since": view["since"],
    "last_action": view["last_action"], "n": pd.to_numeric(view["n"], errors="coerce").round().astype("Int64"),
    "measure": view["measure"].map(_measure_title) if "measure" in view.columns else None,
    **{c: view[c] for c in ("therapist_id", "team", "modality", "age_group", "flag", "value", "threshold")
       if c in view.columns},
}).reset_index(drop=True)
SHOWN = [c for c in table.columns if c not in ("flag", "value", "threshold")]  # the code and raw numbers: in "Why"
# a new table (and no stale selection) whenever the rows shown change or an action was taken
digest = hashlib.sha1(repr((alerts.flag_keys(view), ss.get("_na_done", 0))).encode()).hexdigest()[:12]
st.caption("Tick rows (the boxes at the left) to act on them below. Click a column header to sort; *open ↗* opens "
           "the child's page in a new tab with these filters.")
event = st.dataframe(
    table, hide_index=True, width="stretch", key=f"na_table_{digest}", height=min(36 * (len(table) + 1) + 4, 640),
    on_select="rerun", selection_mode="multi-row", column_order=SHOWN,
    column_config={
        "page": st.column_config.LinkColumn("Child page", display_text="open ↗", width="small"),
        "child_id": st.column_config.TextColumn("Child", width="small"),
        "severity_label": st.column_config.TextColumn("Severity", width="small"),
        "title": st.column_config.TextColumn("Flag"),
        "status_text": st.column_config.TextColumn("Status", width="medium", help="new, new again (fired again after earlier "
                                                   "actions), open, back (snooze ended), acknowledged, snoozed"),
        "assignee": st.column_config.TextColumn("Assigned to"),
        "note": st.column_config.TextColumn("Note", width="medium"),
        "reason": st.column_config.TextColumn("Why", width="large"),
        "measure": st.column_config.TextColumn("Measure", help="The outcome measure of a trend or reliable-change "
                                                               "flag, with its unit (measures.toml)"),
        "since": st.column_config.DateColumn("Since", format="YYYY-MM-DD"),
        "last_action": st.column_config.TextColumn("Last action"),
        "n": st.column_config.NumberColumn("n", help="Sessions or ratings the flag rests on", format="%d"),
        "therapist_id": st.column_config.TextColumn("Therapist"),
        "team": st.column_config.TextColumn("Team"),
        "modality": st.column_config.TextColumn("Modality"),
        "age_group": st.column_config.TextColumn("Age group"),
    })
rows = list(event.selection.rows) if event and hasattr(event, "selection") else []
picked = view.iloc[[r for r in rows if 0 <= r < len(view)]]


def _assignees(children: list[str]) -> list[str]:
    """Who a flag of these children may be assigned to: the people on the access list who can
    see every one of them, and the therapist ids of the viewer's filters."""
    try:
        users = access_list.load()
    except access_list.AccessError:
        users = []
    people = []
    for u in users:
        theirs = data.scope_children(u.scope)
        if theirs is None or set(children) <= set(theirs):
            people.append(u.email)
    return [*people, *[str(t) for t in ui.options().get("therapists") or [] if str(t) not in people]]


def _act(action: str, chosen_flags: pd.DataFrame, *, until: dt.date | None, assignee: str | None, note: str,
         people: list[str]) -> None:
    v = auth.viewer()
    extra: dict = {}
    if action == "snooze":
        extra["until"] = until
    if action == "assign":
        extra.update(assignee=assignee, assignees=people)
    try:
        alerts.act(action, alerts.flags_from_frame(chosen_flags), actor=v.email, scope=v.scope,
                   children=data.scope_children(), note=note or None, page=PAGE, on=on, **extra)
    except alerts.AlertNotRecorded as exc:
        st.error(f"Not saved: {ui.md_escape(exc)}. Ask whoever runs the dashboard to check the audit log.",
                 icon=":material/error:")
        return
    except (alerts.AlertInvalid, alerts.AlertRefused) as exc:
        st.warning(f"Not saved: {ui.md_escape(exc)}.", icon=":material/warning:")
        return
    except (sqlite3.Error, OSError) as exc:
        st.error(f"Not saved: the alert history ({ui.md_code(alerts.alerts_path())}) cannot be written "
                 f"({ui.md_escape(exc)}).", icon=":material/error:")
        return
    n = len(chosen_flags)
    hides = action in ("acknowledge", "snooze") and not show_handled
    ss["_na_done"] = ss.get("_na_done", 0) + 1
    ss["_na_flash"] = (f"{DONE[action]} {n} flag{'s' if n != 1 else ''}"
                       + (f" until {until:%Y-%m-%d}" if action == "snooze" else "")
                       + (": hidden from the list; switch on *Show handled* to see "
                          f"{'them' if n != 1 else 'it'}." if hides else "."))
    st.rerun()


if picked.empty:
    st.caption("Nothing ticked yet: tick one or more rows to acknowledge, snooze, assign or note them.")
else:
    names = [f"{ui.md_escape(c)} · {ui.md_escape(t)}" for c, t in zip(picked["child_id"], picked["title"])]
    if len(picked) == 1:
        child = str(picked["child_id"].iloc[0])
        st.page_link(ui.PAGE_FILES["child"], label=f"Open {ui.md_escape(child)}'s progress page",
                     icon=":material/child_care:", query_params=ui.url_params(child=child))
    people = _assignees(sorted(set(map(str, picked["child_id"]))))
    with st.form("na_act", clear_on_submit=True, border=True):
        st.markdown(f"**{len(picked)} selected:** " + "; ".join(names[:8])
                    + (f"; and {len(names) - 8} more" if len(names) > 8 else ""))
        c1, c2, c3 = st.columns([1, 1.4, 2.6])
        until = c1.date_input("Snooze until", value=on + dt.timedelta(days=7), min_value=on + dt.timedelta(days=1),
                              format="YYYY-MM-DD", key="na_until", help="The flag is hidden until this day, then "
                              "shown again with its history.")
        who = c2.selectbox("Assign to", ["", *people], index=None, key="na_assignee", placeholder="Choose a person",
                           format_func=lambda p: "Nobody (remove the assignment)" if p == "" else p,
                           help="People on the access list who can see these children, and therapist ids.")
        note = c3.text_input("Note (kept with any action)", max_chars=alerts.NOTE_MAX, key="na_note",
                             placeholder="Short; ids only, never a name")
        b = st.columns(5)
        pressed = {
            "acknowledge": b[0].form_submit_button("Acknowledge", type="primary", icon=":material/done:",
                                                   disabled=not store_ok),
            "snooze": b[1].form_submit_button("Snooze", icon=":material/snooze:", disabled=not store_ok),
            "assign": b[2].form_submit_button("Assign", icon=":material/person_add:", disabled=not store_ok),
            "note": b[3].form_submit_button("Add note", icon=":material/edit_note:", disabled=not store_ok),
            "reopen": b[4].form_submit_button("Reopen", icon=":material/undo:", disabled=not store_ok),
        }
    action = next((a for a, hit in pressed.items() if hit), None)
    if action:
        _act(action, picked, until=until, assignee=who, note=note, people=people)
    past = alerts.history_table(picked, hist)
    if past.empty:
        st.caption("No action on the selected flag" + ("s" if len(picked) != 1 else "") + " yet.")
    else:
        st.markdown("**History of the selected flags** (newest first)")
        past["flag"] = past["flag"].map(lambda c: TITLES.get(c, c))
        st.dataframe(past[["child_id", "flag", "when", "who", "what", "note", "episode"]], hide_index=True,
                     width="stretch", key="na_history", column_config={
                         "child_id": st.column_config.TextColumn("Child", width="small"),
                         "flag": st.column_config.TextColumn("Flag"),
                         "when": st.column_config.TextColumn("When (UTC)"),
                         "who": st.column_config.TextColumn("Who"),
                         "what": st.column_config.TextColumn("What"),
                         "note": st.column_config.TextColumn("Note", width="large"),
                         "episode": st.column_config.TextColumn("On", help="This firing of the flag, or an earlier "
                                                                "one that cleared (its since date)")})

# ----------------------------------------------------------------------------- the CSV

export_frame = pd.DataFrame({
    "Child": table["child_id"], "Flag": table["title"], "Severity": table["severity_label"],
    "Why": table["reason"], "Since": pd.to_datetime(table["since"]).dt.strftime("%Y-%m-%d"),
    "Status": table["status_text"], "Assigned to": table["assignee"], "Note": table["note"],
    "Last action": table["last_action"], "Based on (n)": table["n"],
    **{label: table[c] for c, label in (("therapist_id", "Therapist"), ("team", "Team"), ("modality", "Modality"),
                                        ("age_group", "Age group")) if c in table.columns},
})
st.download_button("Download these flags (CSV)",
                   auth.audited("needs-attention flags (CSV)", PAGE,
                                lambda: cells.to_csv_bytes(export_frame), rows=len(export_frame),
                                children=sorted(map(str, export_frame["Child"].unique()))[:500]),
                   file_name=f"flags_{as_of}.csv", mime="text/csv", icon=":material/download:", on_click="ignore")
