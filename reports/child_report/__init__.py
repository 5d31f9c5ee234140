"""A child's progress report for reviews, payers and the family (issue 15).

``build_report(con, child_id, date_from, date_to)`` asks the analytics layer for one child
and period (``analytics.child_record``, ``child_goals``, ``child_goal_observations``,
``child_phases``, ``child_timeline``, ``child_comparison``, ``reliable_change``; no SQL and
no statistics here) and gives a ``ChildReport``:

* a cover: pseudonymous id, period, modality, age group, therapist(s), episode of care
  (referral, discharge), attendance and engagement;
* per goal: its text and what each GAS level means when the goals source carries them
  (else id and domain, with a note), baseline, current, trend with its interval, met /
  mastered / stalled / no recent rating, and its chart (``figures.goal_figure``, shared with
  the child page);
* the child-led vs directed comparison in one plain sentence, with NAP, Tau-U and PND in
  "How this is computed" (``words.METHODS``, each with its reference);
* reliable change on standardised measures; the therapist's narrative and plan.

``render_html`` (self-contained: plotly.js inlined, no network), ``render_pdf`` of that HTML
(``reports.pdf``, the meeting pack's Chromium) and ``render_docx`` (python-docx). The parent
version (``parent=True``) has no statistics vocabulary, larger type, each goal in one
sentence and one chart, what is going well and what comes next.

A display name, narrative and plan typed at download time are arguments of the renderers
only: they go into the file and are never stored, logged or cached.
"""

from __future__ import annotations

from reports.child_report.build import build_report, parse_day
from reports.child_report.docx_doc import render_docx
from reports.child_report.html_page import render_html
from reports.child_report.model import ChildReport, ReportError
from reports.child_report.write import FORMATS, MIME, make_bytes, parse_formats, write_files

__all__ = ["ChildReport", "ReportError", "FORMATS", "MIME", "build_report", "parse_day", "render_html",
           "render_docx", "make_bytes", "parse_formats", "write_files"]
