"""The report as a Word document (python-docx), for pasting into notes and payers' templates:
the same content as the HTML (``sections.document``), headings as Word headings, tables as
Word tables, charts as pictures (``snapshots.chart_images``; without Chromium a note says
the charts are in the HTML and PDF versions)."""

from __future__ import annotations

import io

from docx import Document as Docx
from docx.shared import Pt, Mm

from reports.child_report import sections
from reports.child_report.model import ChildReport


def render_docx(report: ChildReport, *, parent: bool = False, display_name: str | None = None,
                narrative: str | None = None, plan: str | None = None,
                images: list[bytes] | None = None) -> bytes:
    """The .docx bytes. ``images``: the charts as PNG in document order (``snapshots.chart_images``
    of the same document's HTML); None puts a note where each chart would be."""
    doc = sections.document(report, parent=parent, display_name=display_name, narrative=narrative, plan=plan)
    d = Docx()
    st = d.styles["Normal"]
    st.font.name = "Arial"
    st.font.size = Pt(14 if parent else 10.5)
    for s in d.sections:
        s.left_margin = s.right_margin = Mm(18)
    c = doc.cover
    d.add_paragraph(c.kicker.upper())
    d.add_heading(c.title, level=0)
    t = d.add_table(rows=0, cols=2)
    t.style = "Table Grid"
    for k, v in c.facts:
        row = t.add_row().cells
        row[0].text, row[1].text = k, v
    pics = list(images or [])
    n_fig = 0
    for sec in doc.sections:
        d.add_heading(sec.title, level=1)
        for p in sec.paragraphs:
            d.add_paragraph(p)
        for b in sec.bullets:
            d.add_paragraph(b, style="List Bullet")
        if sec.table is not None:
            head, rows = sec.table
            tb = d.add_table(rows=1, cols=len(head))
            tb.style = "Table Grid"
            for i, h in enumerate(head):
                tb.rows[0].cells[i].text = h
                for r in tb.rows[0].cells[i].paragraphs[0].runs:
                    r.bold = True
            for r in rows:
                cells = tb.add_row().cells
                for i, v in enumerate(r):
                    cells[i].text = v
        for g in sec.goals:
            d.add_heading(g.heading + (f" [{g.status_words}]" if g.status_words else ""), level=2)
            d.add_paragraph(g.sentence)
            for line in g.details:
                d.add_paragraph(line)
            for x in g.levels:
                d.add_paragraph(x, style="List Bullet")
            if g.figure is not None:
                if n_fig < len(pics):
                    d.add_picture(io.BytesIO(pics[n_fig]), width=Mm(165))
                else:
                    d.add_paragraph("(The chart is in the HTML and PDF versions of this report.)")
                n_fig += 1
        if sec.typed is not None:
            d.add_paragraph(sec.typed or "To be written by the therapist.\n\n\n")
        for name, what, ref in sec.methods:
            p = d.add_paragraph()
            p.add_run(name + ". ").bold = True
            p.add_run(what + " ")
            p.add_run(ref).italic = True
        for n in sec.notes:
            d.add_paragraph(n).runs[0].font.size = Pt(12 if parent else 9)
    d.add_paragraph(doc.footer)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()
