"""Team meeting pack (supervisors): the agenda for a team or a therapist since the last
meeting, and the shareable pack (HTML, PDF, Excel) in one click.

Thin: ``reports.meeting_pack`` builds, renders and writes the pack from the analytics
layer; this page shows the sections and offers the downloads. The team, therapist and period
are the sidebar filter bar's (``ui.PAGE_FILTERS`` hides the filters the pack does not use),
so the address holds them (``?team=North&period=4w``, with ``&shared=1`` for the version
shared beyond the team) and a bookmark opens the same pack. Without a team or therapist
in the address the page opens on the viewer's own team (``dashboard.teams``).
"""

from __future__ import annotations

import datetime as dt
import io
import tempfile
from dataclasses import replace
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import auth, data, layout, ui
from reports import meeting_pack as mp

PAGE = "Team meeting pack"


@st.cache_data(show_spinner=False, max_entries=30, ttl=dt.timedelta(hours=6))
def _start(_r: data.Reader, db: str, version: tuple[int, int], cfg: str, viewer_scope, team: str | None,
           therapist: str | None, d_from: dt.date, d_to: dt.date, suppress: bool,
           previous: tuple[dt.date, dt.date] | None = None) -> mp.PackStart:
    """The pack's checks and its Needs attention section (``mp.pack_start``): drawn while the rest builds."""
    with data.scoped_cursor(_r, viewer_scope) as con:  # the pack holds only children in the viewer's scope
        return mp.pack_start(con, team=team, therapist=therapist, date_from=d_from, date_to=d_to,
                             suppress_small_cells=suppress, previous=previous)


@st.cache_data(show_spinner=False, max_entries=30, ttl=dt.timedelta(hours=6))
def _pack(_r: data.Reader, db: str, version: tuple[int, int], cfg: str, viewer_scope, team: str | None,
          therapist: str | None, d_from: dt.date, d_to: dt.date, suppress: bool,
          previous: tuple[dt.date, dt.date] | None = None, _start: mp.PackStart | None = None) -> mp.MeetingPack:
    """The whole pack; ``_start``: its ``_start`` (the same arguments), whose calls are not made again."""
    with data.scoped_cursor(_r, viewer_scope) as con:  # the pack holds only children in the viewer's scope
        return mp.build_pack(con, team=team, therapist=therapist, date_from=d_from, date_to=d_to,
                             suppress_small_cells=suppress, previous=previous, start=_start)


class _Files:
    """The pack's files, each made only when its download is clicked (``st.download_button``
    runs a callable ``data`` on the click, outside the script run), never while the page
    renders: the HTML and the workbook take seconds for a large team. The HTML is made once
    and reused by the PDF (printed from it)."""

    def __init__(self, pack: mp.MeetingPack) -> None:
        self.pack = pack
        self._html: bytes | None = None

    def html(self) -> bytes:
        if self._html is None:
            self._html = mp.render_html(self.pack).encode("utf-8")
        return self._html

    def xlsx(self) -> bytes:
        buf = io.BytesIO()
        mp.write_excel(self.pack, buf)
        return buf.getvalue()

    def pdf(self) -> bytes:
        """The PDF, printed from the HTML with headless Chromium (takes a few seconds)."""
        with tempfile.TemporaryDirectory(prefix="meeting-pack-") as tmp:
            out = mp.render_pdf(self.html().decode("utf-8"), Path(tmp) / "pack.pdf")
            return out.read_bytes()


def _choose(wkey: str, value: str) -> None:
    """Keep only ``value`` in the sidebar filter ``wkey`` (a button's callback: before the widgets)."""
    st.session_state[wkey] = [value]


def _one(kind: str, wkey: str, chosen: list[str]) -> None:
    """Several teams (or therapists) in the sidebar: the pack is for one; a button each keeps it."""
    ui.empty(f"The meeting pack is for one {kind}, and the sidebar has {len(chosen)}: keep one in the "
             f"sidebar's {kind.capitalize()} filter, or pick it here.")
    with st.container(horizontal=True):
        for v in chosen[:12]:
            st.button(f"Pack for {ui.md_escape(v)}", key=f"mp_one_{wkey}_{v}", on_click=_choose, args=(wkey, v),
                      icon=":material/groups:" if kind == "team" else ":material/person:")
    st.stop()


def _shared_from_url() -> None:
    """``?shared=1`` in the address (a bookmarked shared version) sets the toggle, once per address."""
    url = st.query_params.get("shared")
    if url != st.session_state.get("_mp_shared_url"):
        st.session_state["_mp_shared_url"] = url
        if url is not None:
            st.session_state["mp_suppress"] = url == "1"


st.title("Team meeting pack", anchor=False)
f = ui.require_data()
viewer = auth.viewer()
state = st.session_state.get("filter_state") or {}
chosen_teams, chosen_ther = list(state.get("team") or []), list(state.get("therapist") or [])
st.caption("The agenda for a team meeting: who needs attention, the wins, each therapist's caseload and the team's "
           "trends, for the period since the last meeting. The team, therapist and period are the sidebar's "
           "(the address holds them: bookmark it to come back to this pack).")
if len(chosen_teams) > 1:
    _one("team", "f_team", chosen_teams)
if len(chosen_ther) > 1:
    _one("therapist", "f_therapist", chosen_ther)
team = chosen_teams[0] if chosen_teams else None
therapist = chosen_ther[0] if chosen_ther else None
if team is None and therapist is None:
    ui.empty("Pick a team (or a therapist) in the sidebar.")
    st.stop()
d_from, d_to = f.date_from, f.date_to
reason = st.session_state.get("own_team_reason")
if reason and team and not therapist:
    st.caption(f"Team **{ui.md_escape(team)}** is {ui.md_escape(reason)}: choose another in the sidebar (the team "
               "filter applies on every page).")
_shared_from_url()
suppress = st.toggle("Shared beyond the team: suppress small cells", key="mp_suppress",
                     help="Every figure resting on fewer than [privacy] small_cell_min children (settings.toml) shows "
                          "as <N, and child-level lists become counts.")
if suppress:
    st.query_params["shared"] = "1"
elif "shared" in st.query_params:
    del st.query_params["shared"]
st.session_state["_mp_shared_url"] = st.query_params.get("shared")

r = data.reader()
try:
    with st.spinner("Finding the children who need attention ..."):
        cmp_ = ui.comparison()  # the period the filter bar compares with, as on every other page
        key = (r, r.db, r.version, data.settings_key(), viewer.scope, team, therapist, d_from, d_to, bool(suppress),
               (cmp_.date_from, cmp_.date_to) if cmp_ is not None else None)
        start = _start(*key)
except mp.PackError as exc:
    st.error(ui.md_escape(exc), icon=":material/error:")
    st.stop()
first = start.pack  # scope, dates and Needs attention: the same as the whole pack's

st.caption(f"{ui.md_escape(first.scope)} · {first.period} · compared with {ui.day(first.prev_from)} – "
           f"{ui.day(first.prev_to)} · "
           f"data up to {ui.day(first.as_of)}")

# ---- downloads: their place is kept here; the buttons come with the whole pack (built after section 1 is drawn)
downloads_box = st.container()
auth.log_view(PAGE, detail={"team": team, "therapist": therapist, "from": d_from, "to": d_to})
flagged = first.attention["child_id"] if "child_id" in first.attention else []  # suppressed packs: counts only
_what = {"team": team, "therapist": therapist, "from": str(d_from), "to": str(d_to), "suppressed": bool(suppress),
         "flagged_children": sorted(map(str, set(flagged)))[:500]}
stem = first.file_stem() + ("_shared" if suppress else "")


def _downloads(pack: mp.MeetingPack) -> None:
    """The download buttons (HTML, PDF, Excel) of the whole pack, in ``downloads_box``."""
    files = _Files(pack)  # nothing is built here: each file when its button is clicked
    with downloads_box:
        downloads = st.container(horizontal=True)  # wraps: each button keeps its whole label
        downloads.download_button(
            "Meeting pack (HTML)", auth.audited("meeting pack (HTML)", PAGE, files.html, **_what),
            file_name=f"{stem}.html", mime="text/html", icon=":material/download:", key="mp_dl_html",
            on_click="ignore", width="content",
            help="One self-contained file: interactive charts, opens without a network, prints one section per page.")
        if mp.chromium_path():
            downloads.download_button(
                "Meeting pack (PDF)", auth.audited("meeting pack (PDF)", PAGE, files.pdf, **_what),
                file_name=f"{stem}.pdf", mime="application/pdf", icon=":material/picture_as_pdf:", key="mp_dl_pdf",
                on_click="ignore", width="content",
                help="The same pack printed to PDF with headless Chromium (takes a few seconds).")
        else:
            downloads.download_button(
                "PDF needs Chromium", b"", file_name=f"{stem}.pdf", disabled=True, key="mp_dl_pdf",
                icon=":material/picture_as_pdf:", width="content",
                help="Install Chromium on the server to make the PDF: apt-get install chromium. "
                     "Meanwhile, open the HTML pack and print it to PDF from the browser.")
        downloads.download_button(
            "Tables (Excel)", auth.audited("meeting pack (Excel)", PAGE, files.xlsx, **_what),
            file_name=f"{stem}.xlsx", mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            icon=":material/table_view:", key="mp_dl_xlsx", on_click="ignore", width="content",
            help="One sheet per section; text cells are never read as formulas.")
        if not mp.chromium_path():
            st.caption("PDF: install Chromium (`apt-get install chromium`); the HTML pack prints to PDF from any "
                       "browser.")


if suppress:
    st.info(f"Shared version: figures resting on fewer than {first.small_cell_min} children show as "
            f"{ui.md_escape(first.small_text)}, and children are counted, not listed; a figure shown as *hidden* "
            "is hidden so that a small one cannot be worked out from a total.", icon=":material/shield:")

# ---- the sections, as in the pack (static tables: drawn with the page, text wrapped to its width)


def _attention_rows(pack: mp.MeetingPack, children_table, limit: int) -> pd.DataFrame:
    """One row per flagged child, the first ``limit`` in the pack's order (most urgent first): every flag of the
    child with its reason in one cell, the child's therapist and figures (as the pack's
    "Flagged children" table prints them) in another; four columns, so they fit 450 px.
    Cells are markdown, every text escaped. Built column by column in one pass over the flags
    (a filter of the flags per child was seconds for thousands of flagged children)."""
    flags = pack.attention.assign(child_id=pack.attention["child_id"].astype(str))
    ids = list(flags["child_id"])
    order = list(dict.fromkeys([*map(str, pack.attention_children.get("child_id", [])), *ids]))
    flagged = set(ids)
    order = [c for c in order if c in flagged][:limit]
    kids = children_table.frame
    if kids is not None and "child_id" in kids:
        children_table = replace(children_table, frame=kids[kids["child_id"].astype(str).isin(order)])
    text = mp.table_text(children_table)
    figs = dict(zip(text["Child"], zip(text["Sessions in period"], text["Attended"], text["Mean engagement"],
                                       text["Last session"])))
    rows_of: dict[str, list[int]] = {}
    for i, c in enumerate(ids):
        rows_of.setdefault(c, []).append(i)
    why = [f"**{ui.md_escape(t)}** (since {ui.day(d)}): {ui.md_escape(r)}"
           for t, d, r in zip(flags["title"], flags["since"], flags["reason"])]
    severity, therapist = list(flags["severity_label"]), list(flags["therapist_id"])
    rows = []
    for c in order:
        mine = rows_of.get(c)
        if not mine:
            continue
        fig, first = figs.get(c), mine[0]
        rows.append({
            "Child": ui.md_escape(c),  # text, not a link: no link is ever rendered from pack text
            "Severity": ui.md_escape(severity[first]),
            "Flags and why": " ".join(why[i] for i in mine),
            "In the period": "–" if fig is None else ui.md_escape(
                f"{therapist[first]} · {fig[0]} sessions, {fig[1]} attended · engagement {fig[2]} · "
                f"last session {fig[3]}"),
        })
    return pd.DataFrame(rows)


def _section(pack: mp.MeetingPack, i: int, sec: mp.Section) -> None:
    """Section ``i`` of ``pack``, as in the pack: its summary, tables, figures and notes."""
    st.subheader(f"{i} · {ui.md_escape(sec.title)}", anchor=False)
    for line in sec.summary:  # plain text from the pack: team and therapist names, ids
        st.markdown(ui.md_escape(line))
    tables = sec.tables
    if sec.key == "attention" and not pack.suppress_small_cells and len(pack.attention):
        # one row per child with all its flags (the pack's two tables, flags and children, in one)
        kids = next((t for t in sec.tables if t.key == "attention_children"), None)
        if kids is not None:
            st.markdown("**Flagged children and their flags** (most urgent first; a child's record is on *Child progress*)")
            n_flagged = pack.attention["child_id"].nunique()
            layout.static_table(_attention_rows(pack, kids, layout.PAGE_ROWS), "mp_attention", total=n_flagged,
                                rest_in="Every flagged child is in the downloads above (HTML, PDF, Excel) and on "
                                        "*Needs attention*.")
        tables = [t for t in sec.tables if t.key not in ("attention_children", "attention_flags")]
    if sec.key == "trends":
        for key, fig in sec.figures:
            ui.chart(fig, key=f"mp_fig_{key}", width="content")
    for t in tables:
        st.markdown(f"**{ui.md_escape(t.title)}**")
        if t.frame is None or t.frame.empty:
            st.caption(ui.md_escape(t.empty))
        else:
            head = replace(t, frame=t.frame.head(layout.PAGE_ROWS))  # only the rows drawn become text
            layout.static_table(mp.table_text(head).map(ui.md_escape), f"mp_{t.key}", total=len(t.frame))
        if t.note:
            st.caption(ui.md_escape(t.note))
    if sec.key != "trends":
        for key, fig in sec.figures:
            ui.chart(fig, key=f"mp_fig_{key}", width="content")
    for n in sec.notes:
        st.caption(ui.md_escape(n))


_section(first, 1, first.sections[0])  # Needs attention, before the rest is built
with st.spinner("Building the rest of the pack (wins, caseload, trends, outcome measures) ..."):
    pack = _pack(*key, _start=start)
_downloads(pack)
for i, sec in enumerate(pack.sections[1:], start=2):
    _section(pack, i, sec)
