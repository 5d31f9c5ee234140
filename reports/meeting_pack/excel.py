"""The pack's tables as an Excel workbook (``write_excel``): one sheet per section; every text
cell made safe by ``reports.cells.safe_cell`` and written with ``write_string``."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reports import cells
from reports.formats import is_missing
from reports.meeting_pack.model import MeetingPack, Table, values


_XL_FORMATS = {"int": "#,##0", "pct": "0.0%", "num1": "0.0", "num2": "0.00", "signed2": "+0.00;-0.00;0.00",
               "level": "+0;-0;0", "p": "0.0000", "date": "yyyy-mm-dd", "month": "mmm yyyy"}


class _Sheet:
    """Writes rows into an xlsxwriter worksheet: text always as a safe string, numbers as numbers."""

    def __init__(self, wb, name: str, formats: dict) -> None:
        self.ws = wb.add_worksheet(name)
        self.f = formats
        self.row = 0
        self.widths: dict[int, int] = {}

    def text(self, col: int, value: Any, fmt: str | None = None) -> None:
        s = cells.safe_cell(str(value))
        self.ws.write_string(self.row, col, s, self.f.get(fmt) if fmt else None)
        if fmt not in ("title", "h2", "muted"):
            self.widths[col] = max(self.widths.get(col, 8), min(len(s) + 2, 60))

    def value(self, col: int, v: Any, kind: str) -> None:
        if isinstance(v, str):
            self.text(col, v)
        elif is_missing(v):
            self.ws.write_blank(self.row, col, None)
        elif kind in ("date", "month"):
            self.ws.write_datetime(self.row, col, pd.Timestamp(v).to_pydatetime(), self.f[kind])
            self.widths[col] = max(self.widths.get(col, 8), 12)
        elif kind == "bool" or isinstance(v, (bool, np.bool_)):
            self.text(col, "yes" if bool(v) else "no")
        elif kind in ("text", "id"):
            self.text(col, v)
        else:
            self.ws.write_number(self.row, col, float(v), self.f.get(kind))

    def next(self, n: int = 1) -> None:
        self.row += n

    def finish(self) -> None:
        for col, w in self.widths.items():
            self.ws.set_column(col, col, w)


def _excel_columns(t: Table) -> list[tuple[str, str, str]]:
    """(column, header, kind) for the workbook: each figure's n, interval and previous value apart."""
    out = []
    for c in t.columns:
        out.append((c.name, c.label, c.kind))
        if c.ci:
            out.append((c.ci[0], f"{c.label}: CI low", c.kind))
            out.append((c.ci[1], f"{c.label}: CI high", c.kind))
        if c.n:
            out.append((c.n, f"{c.label}: n {c.n_label}".rstrip(), "int"))
        if c.prev:
            out.append((c.prev, f"{c.label}: previous period", c.kind))
            out.append(("__delta__" + c.name, f"{c.label}: change", "pct_pp" if c.kind == "pct" else c.kind))
    return out


def _write_table(sh: _Sheet, t: Table) -> None:
    sh.text(0, t.title, "h2")
    sh.next()
    if t.frame is None or t.frame.empty:
        sh.text(0, t.empty, "muted")
        sh.next(2)
        return
    cols = _excel_columns(t)
    for j, (_, header, _) in enumerate(cols):
        sh.text(j, header, "header")
    sh.next()
    data = []  # column by column (no Series per row), then written cell by cell
    for name, _, kind in cols:
        if name.startswith("__delta__"):
            base = name[len("__delta__"):]
            prev = next(c.prev for c in t.columns if c.name == base)
            data.append([None if isinstance(a, str) or isinstance(b, str) or is_missing(a) or is_missing(b)
                         else float(a) - float(b) for a, b in zip(values(t.frame, base), values(t.frame, prev))])
        else:
            data.append(values(t.frame, name))
    for row in zip(*data):
        for j, ((name, _, kind), v) in enumerate(zip(cols, row)):
            if not name.startswith("__delta__"):
                sh.value(j, v, kind)
            elif v is None:
                sh.ws.write_blank(sh.row, j, None)
            else:
                sh.ws.write_number(sh.row, j, v, sh.f["pct_pp"] if kind == "pct_pp" else sh.f.get(kind))
        sh.next()
    if t.note:
        sh.text(0, t.note, "muted")
        sh.next()
    sh.next()


def write_excel(pack: MeetingPack, path: str | Path | io.BytesIO) -> None:
    """The pack's tables as an Excel workbook: an About sheet, then one sheet per section.

    Every text cell goes through ``cells.safe_cell`` and ``write_string`` (a value such as
    ``=cmd|...`` stays text, prefixed with ``'``); numbers are numbers, dates are dates."""
    import xlsxwriter

    target = path if isinstance(path, io.BytesIO) else str(path)
    wb = xlsxwriter.Workbook(target, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                      "strings_to_numbers": False})
    try:
        formats = {k: wb.add_format({"num_format": v}) for k, v in _XL_FORMATS.items()}
        formats["pct_pp"] = wb.add_format({"num_format": '+0.0%;-0.0%;0.0%'})
        formats["title"] = wb.add_format({"bold": True, "font_size": 14, "font_color": "#0072B2"})
        formats["h2"] = wb.add_format({"bold": True, "font_size": 12})
        formats["header"] = wb.add_format({"bold": True, "bottom": 1, "text_wrap": True, "valign": "bottom"})
        formats["muted"] = wb.add_format({"italic": True, "font_color": "#5A5A5A"})
        formats["label"] = wb.add_format({"bold": True})

        sh = _Sheet(wb, "About", formats)
        sh.text(0, "Team meeting pack", "title")
        sh.next(2)
        about = [("Team", pack.team or ""), ("Therapist", pack.therapist or "(all in the team)"),
                 ("Period from", pack.date_from), ("Period to", pack.date_to),
                 ("Previous period from", pack.prev_from), ("Previous period to", pack.prev_to),
                 ("Data up to", pack.as_of), ("Trends from", pack.trend_from),
                 ("Small cells suppressed", "yes" if pack.suppress_small_cells else "no"),
                 ("Small-cell minimum (children)", pack.small_cell_min),
                 ("Generated", pack.generated_at.strftime("%Y-%m-%d %H:%M"))]
        for label, v in about:
            sh.text(0, label, "label")
            sh.value(1, v, "date" if isinstance(v, dt.date) else ("int" if isinstance(v, int) else "text"))
            sh.next()
        sh.next()
        sh.text(0, "Pseudonymous ids only. One sheet per section; n columns give the count each figure rests on.",
                "muted")
        sh.finish()
        sheet_names = {"attention": "Needs attention", "wins": "Wins", "caseload": "Caseload",
                       "trends": "Team trends", "measures": "Outcome measures"}
        for sec in pack.sections:
            sh = _Sheet(wb, sheet_names.get(sec.key, sec.key[:31]), formats)
            sh.text(0, f"{sec.title} · {pack.scope} · {pack.period}", "title")
            sh.next()
            for s in sec.summary:
                sh.text(0, s, "muted")
                sh.next()
            sh.next()
            for t in sec.tables:
                _write_table(sh, t)
            for n in sec.notes:
                sh.text(0, n, "muted")
                sh.next()
            sh.finish()
            sh.ws.set_column(0, 0, max(sh.widths.get(0, 10), 12))
    finally:
        wb.close()
