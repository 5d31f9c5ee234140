"""Team meeting pack: the supervisor's agenda for a team (or a therapist) and a period.

``build_pack`` asks the analytics layer (``analytics``; no SQL and no statistics
here) for five sections, in this order:

1. **Needs attention**: the children ``analytics.flags`` flags for the scope as of the
   period's end, most urgent first, with the reasons and the child's figures in the period.
2. **Wins**: goals that reached the expected GAS level (met) or went above it (exceeded)
   for the first time in the period; reliable improvements on a standardised measure whose
   latest administration is in the period; children whose engagement rose, either a
   significant upward trend (Mann-Kendall, the same test and window as the "engagement
   trending down" flag) or a clear rise of the period's mean over the previous period's.
3. **Caseload by therapist**: children, sessions, attendance, mean engagement, share of
   child-led sessions and goal attainment per therapist and for the whole scope, each
   against the previous period of the same length.
4. **Team trends**: engagement and goal attainment per month over the last months, and
   child-led vs directed engagement (per month, with intervals, and the within-child
   paired estimate), with n everywhere.
5. **Outcome measures** (``measures.py``): every session-level measure of the catalogue
   (``measures.toml``; not the standardised ones, whose change is the reliable change of the
   Wins) with a value in the period, each with its label, unit and direction: the period's
   mean with its interval and n against the previous period, the children whose recent
   trend is getting worse or better in the measure's direction (the Mann-Kendall test of
   the "getting worse" flag), the within-child child-led vs directed comparison pooled per
   measure (each child once per measure) and the mean per month.

``render_html`` writes one self-contained HTML file (plotly.js inlined, no network needed;
print CSS puts each section on a new page), ``render_pdf`` prints that HTML with headless
Chromium, ``write_excel`` writes the tables (one sheet per section; every text cell made
safe by ``cells.safe_cell`` and written with ``write_string``).

Privacy: only pseudonymous ids (child, therapist) appear. With ``suppress_small_cells``
(packs shared beyond the team) every figure resting on fewer than ``[privacy]
small_cell_min`` children is shown as ``"<N"``, and child-level lists become counts. Where
rows are shown beside their total (therapists beside "All", the kinds of flag beside "Any
flag", the kinds of win beside "All", child-led and directed sessions within a month's
total, the kinds of trend beside the children with a trend of a measure), a second row is
hidden too (shown as ``"hidden"``) until "total minus the rows shown" rests on at least N
children, so a "<N" row cannot be worked out by subtraction.
The rules live in ``access.disclosure`` (rules 1 and 2).
"""

from __future__ import annotations

from reports.meeting_pack.build import PackStart, build_pack, pack_start
from reports.meeting_pack.excel import write_excel
from reports.meeting_pack.html_page import render_html
from reports.meeting_pack.model import (HIDDEN_TEXT, SECTION_KEYS, Col, MeetingPack, PackError, Section, Table,
                                        default_period, parse_date, table_text)
from reports.meeting_pack.write import write_all
from reports.pdf import BROWSER_ARGS, CHROMIUM_HINT, ChromiumMissing, chromium_path, render_pdf

__all__ = [
    "MeetingPack", "Section", "Table", "Col", "PackError", "ChromiumMissing", "SECTION_KEYS", "HIDDEN_TEXT",
    "build_pack", "pack_start", "PackStart", "render_html", "render_pdf", "write_excel", "write_all", "table_text", "chromium_path",
    "parse_date", "default_period", "CHROMIUM_HINT", "BROWSER_ARGS",
]
