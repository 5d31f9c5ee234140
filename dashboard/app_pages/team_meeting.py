"""Team meeting pack (supervisors): the agenda for a team or a therapist since the last
meeting, and the shareable pack (HTML, PDF, Excel) in one click.

Thin: ``reports.meeting_pack`` builds, renders and writes the pack from the analytics
layer; this page picks the team, therapist and period, shows the sections and offers
the downloads.
"""

from __future__ import annotations

import datetime as dt
import io
import tempfile
from pathlib import Path

import streamlit as st

from dashboard import auth, data, ui
from reports import meeting_pack as mp

PAGE = "Team meeting pack"
ANY_TEAM = "Any team (pick a therapist)"
ALL_THERAPISTS = "All therapists in the team"
PERIODS = {"2w": ("Last 2 weeks", 2), "4w": ("Last 4 weeks", 4), "custom": ("Custom dates", None)}


@st.cache_data(show_spinner=False, max_entries=30, ttl=dt.timedelta(hours=6))
def _pack(_r: data.Reader, db: str, version: tuple[int, int], cfg: str, viewer_scope, team: str | None,
          therapist: str | None, d_from: dt.date, d_to: dt.date, suppress: bool) -> mp.MeetingPack:
    with data.scoped_cursor(_r, viewer_scope) as con:  # the pack holds only children in the viewer's scope
        return mp.build_pack(con, team=team, therapist=therapist, date_from=d_from, date_to=d_to,
                             suppress_small_cells=suppress)


@st.cache_data(show_spinner=False, max_entries=10, ttl=dt.timedelta(hours=6))
def _files(_pack: mp.MeetingPack, key: tuple) -> tuple[bytes, bytes]:
    """(HTML, Excel) bytes of the pack; ``key`` identifies it (the pack itself is not hashed)."""
    buf = io.BytesIO()
    mp.write_excel(_pack, buf)
    return mp.render_html(_pack).encode("utf-8"), buf.getvalue()


def _pdf_maker(html_bytes: bytes):
    """The PDF, made only when the button is clicked (printing takes a few seconds)."""
    def make() -> bytes:
        with tempfile.TemporaryDirectory(prefix="meeting-pack-") as tmp:
            out = mp.render_pdf(html_bytes.decode("utf-8"), Path(tmp) / "pack.pdf")
            return out.read_bytes()
    return make


st.title("Team meeting pack", anchor=False)
ui.require_data()
opts = ui.options()
lo, hi = ui.to_date(opts.get("min_date")), ui.to_date(opts.get("max_date"))
viewer = auth.viewer()
teams = [str(t) for t in opts.get("teams") or []]
if viewer.role == "supervisor":
    teams = [t for t in teams if t in viewer.scope.teams]
elif viewer.role == "therapist":
    teams = []  # a therapist's pack is their own caseload
st.caption("The agenda for a team meeting: who needs attention, the wins, each therapist's caseload and the team's "
           "trends, for the period since the last meeting. The pack uses the team and period chosen here; the "
           "sidebar filters do not apply to it.")

# ---- scope and period (defaults: the sidebar's team and therapist when exactly one is chosen)
state = st.session_state.get("filter_state") or {}
if "mp_team" not in st.session_state:
    side = state.get("team") or []
    if len(side) == 1 and side[0] in teams:
        st.session_state["mp_team"] = side[0]
    elif teams:  # the team with the most sessions in the last 4 weeks
        recent = ui.fetch("monthly_trends", data.Filters(*mp.default_period(hi, 4)), by="team")
        busiest = recent.groupby("team")["sessions"].sum().sort_values(ascending=False) if len(recent) else None
        st.session_state["mp_team"] = str(busiest.index[0]) if busiest is not None and len(busiest) else teams[0]
    else:
        st.session_state["mp_team"] = ANY_TEAM
c1, c2, c3 = st.columns([2, 2, 3])
if st.session_state.get("mp_team") not in teams + [ANY_TEAM]:
    st.session_state["mp_team"] = teams[0] if teams else ANY_TEAM
team_pick = c1.selectbox("Team", teams + [ANY_TEAM], key="mp_team")
team = None if team_pick == ANY_TEAM else team_pick
if team:
    per_ther = ui.fetch("monthly_trends", data.Filters(teams=(team,)), by="therapist_id")
    team_therapists = sorted(str(t) for t in per_ther["therapist_id"].dropna().unique())
elif viewer.role == "therapist":
    team_therapists = [viewer.scope.therapist_id]
else:
    team_therapists = [str(t) for t in opts.get("therapists") or []]
ther_options = ([ALL_THERAPISTS] if team else []) + team_therapists
if st.session_state.get("mp_therapist") not in ther_options:
    side = state.get("therapist") or []
    st.session_state["mp_therapist"] = side[0] if len(side) == 1 and side[0] in ther_options else ther_options[0] \
        if ther_options else None
therapist_pick = c2.selectbox("Therapist", ther_options, key="mp_therapist")
therapist = None if therapist_pick in (None, ALL_THERAPISTS) else therapist_pick
period = c3.segmented_control("Period (since the last meeting)", list(PERIODS), default="4w", key="mp_period",
                              format_func=lambda k: PERIODS[k][0]) or "4w"
if period == "custom":
    if "mp_range" not in st.session_state:
        st.session_state["mp_range"] = mp.default_period(hi, 4)
    rng = st.date_input("Dates", key="mp_range", min_value=lo, max_value=hi, format="YYYY-MM-DD")
    if not isinstance(rng, (tuple, list)) or len(rng) != 2:
        ui.empty("Pick the first and the last day of the period.")
        st.stop()
    d_from, d_to = rng
else:
    d_from, d_to = mp.default_period(hi, PERIODS[period][1])
suppress = st.toggle("Shared beyond the team: suppress small cells", key="mp_suppress",
                     help="Every figure resting on fewer than [privacy] small_cell_min children (settings.toml) shows "
                          "as <N, and child-level lists become counts.")

if team is None and therapist is None:
    ui.empty("Pick a team, or a therapist.")
    st.stop()

r = data.reader()
try:
    with st.spinner("Building the meeting pack ..."):
        pack = _pack(r, r.db, r.version, data.settings_key(), viewer.scope, team, therapist, d_from, d_to,
                     bool(suppress))
except mp.PackError as exc:
    st.error(ui.md_escape(exc), icon=":material/error:")
    st.stop()

st.caption(f"{ui.md_escape(pack.scope)} · {pack.period} · compared with {ui.day(pack.prev_from)} – "
           f"{ui.day(pack.prev_to)} · "
           f"data up to {ui.day(pack.as_of)}")

# ---- downloads
html_bytes, xlsx_bytes = _files(pack, (r.db, r.version, data.settings_key(), viewer.scope, team, therapist, d_from,
                                       d_to, bool(suppress)))
auth.log_view(PAGE, detail={"team": team, "therapist": therapist, "from": d_from, "to": d_to})
flagged = pack.attention["child_id"] if "child_id" in pack.attention else []  # suppressed packs: counts only
_what = {"team": team, "therapist": therapist, "from": str(d_from), "to": str(d_to), "suppressed": bool(suppress),
         "flagged_children": sorted(map(str, set(flagged)))[:500]}
stem = pack.file_stem() + ("_shared" if suppress else "")
d1, d2, d3 = st.columns(3)
d1.download_button("Meeting pack (HTML)", auth.audited("meeting pack (HTML)", PAGE, lambda: html_bytes, **_what),
                   file_name=f"{stem}.html", mime="text/html",
                   icon=":material/download:", key="mp_dl_html", on_click="ignore", width="stretch",
                   help="One self-contained file: interactive charts, opens without a network, prints one section "
                        "per page.")
if mp.chromium_path():
    d2.download_button("Meeting pack (PDF)", auth.audited("meeting pack (PDF)", PAGE, _pdf_maker(html_bytes), **_what),
                       file_name=f"{stem}.pdf", mime="application/pdf",
                       icon=":material/picture_as_pdf:", key="mp_dl_pdf", on_click="ignore", width="stretch",
                       help="The same pack printed to PDF with headless Chromium (takes a few seconds).")
else:
    d2.download_button("PDF needs Chromium", b"", file_name=f"{stem}.pdf", disabled=True, key="mp_dl_pdf",
                       icon=":material/picture_as_pdf:", width="stretch",
                       help="Install Chromium on the server to make the PDF: apt-get install chromium. "
                            "Meanwhile, open the HTML pack and print it to PDF from the browser.")
    d2.caption("PDF: install Chromium (`apt-get install chromium`); the HTML pack prints to PDF from any browser.")
d3.download_button("Tables (Excel)", auth.audited("meeting pack (Excel)", PAGE, lambda: xlsx_bytes, **_what),
                   file_name=f"{stem}.xlsx",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                   icon=":material/table_view:", key="mp_dl_xlsx", on_click="ignore", width="stretch",
                   help="One sheet per section; text cells are never read as formulas.")
if suppress:
    st.info(f"Shared version: figures resting on fewer than {pack.small_cell_min} children show as "
            f"{ui.md_escape(pack.small_text)}, and children are counted, not listed; a figure shown as *hidden* "
            "is hidden so that a small one cannot be worked out from a total.", icon=":material/shield:")

# ---- the sections, as in the pack
for i, sec in enumerate(pack.sections, start=1):
    st.subheader(f"{i} · {ui.md_escape(sec.title)}", anchor=False)
    for line in sec.summary:  # plain text from the pack: team and therapist names, ids
        st.markdown(ui.md_escape(line))
    if sec.key == "attention" and not pack.suppress_small_cells and len(pack.attention):
        view = pack.attention.copy()
        view.insert(0, "page", [ui.child_url(str(c)) for c in view["child_id"]])
        st.dataframe(
            view[["page", "child_id", "severity_label", "title", "reason", "since", "therapist_id", "modality",
                  "age_group"]],
            hide_index=True, width="stretch", key="mp_attention",
            column_config={
                "page": st.column_config.LinkColumn("Child page", display_text="open ↗", width="small"),
                "child_id": st.column_config.TextColumn("Child", width="small"),
                "severity_label": st.column_config.TextColumn("Severity", width="small"),
                "title": st.column_config.TextColumn("Flag"),
                "reason": st.column_config.TextColumn("Why", width="large"),
                "since": st.column_config.DateColumn("Since", format="YYYY-MM-DD"),
                "therapist_id": st.column_config.TextColumn("Therapist"),
                "age_group": st.column_config.TextColumn("Age group")})
        tables = [t for t in sec.tables if t.key == "attention_children"]
    else:
        tables = sec.tables
    if sec.key == "trends":
        for key, fig in sec.figures:
            ui.chart(fig, key=f"mp_fig_{key}", width="content")
    for t in tables:
        st.markdown(f"**{ui.md_escape(t.title)}**")
        if t.frame is None or t.frame.empty:
            st.caption(ui.md_escape(t.empty))
        else:
            st.dataframe(mp.table_text(t), hide_index=True, width="stretch", key=f"mp_tbl_{t.key}")
        if t.note:
            st.caption(ui.md_escape(t.note))
    if sec.key != "trends":
        for key, fig in sec.figures:
            ui.chart(fig, key=f"mp_fig_{key}", width="content")
    for n in sec.notes:
        st.caption(ui.md_escape(n))
