"""The pack as one self-contained HTML document (``render_html``): plotly.js inlined, no network,
print CSS putting each section on a new page (``reports.pdf`` prints it)."""

from __future__ import annotations

import html
from dataclasses import replace

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from reports.formats import cell, day, delta, is_missing, month
from reports.meeting_pack.model import HIDDEN_TEXT, Col, MeetingPack, Table, values


_CSS = """
:root { --ink: #1a1a1a; --muted: #5a5a5a; --rule: #d9d9d9; --accent: #0072B2; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font-family: "Helvetica Neue", Arial, "Liberation Sans", sans-serif; color: var(--ink); font-size: 10.5pt;
       line-height: 1.4; margin: 0 auto; padding: 24px 16px 48px; max-width: 760px; background: #fff; }
header.pack { border-bottom: 3px solid var(--accent); padding-bottom: 10px; margin-bottom: 14px; }
header.pack .kicker { font-size: 9pt; letter-spacing: .08em; text-transform: uppercase; color: var(--accent); }
header.pack h1 { font-size: 19pt; margin: 2px 0 6px; }
header.pack dl { display: grid; grid-template-columns: max-content 1fr; gap: 1px 14px; margin: 0; font-size: 9.5pt; }
header.pack dt { color: var(--muted); }
header.pack dd { margin: 0; }
.shared { border: 1px solid #E69F00; background: #FFF6E0; padding: 6px 10px; margin: 8px 0; font-size: 9.5pt; }
section.pack-section { padding-top: 4px; }
section.pack-section + section.pack-section { break-before: page; page-break-before: always; margin-top: 36px; }
h2 { font-size: 15pt; margin: 6px 0 6px; color: var(--accent); border-bottom: 1px solid var(--rule); padding-bottom: 3px; }
h3 { font-size: 11pt; margin: 14px 0 4px; break-after: avoid; page-break-after: avoid; }
p.summary { margin: 4px 0 8px; }
p.note, .notes p { color: var(--muted); font-size: 8.5pt; margin: 3px 0 8px; }
p.note { break-before: avoid; page-break-before: avoid; }
.tbl.keep { break-inside: avoid; page-break-inside: avoid; }
table { border-collapse: collapse; width: 100%; font-size: 8.5pt; margin: 2px 0 4px; }
thead { display: table-header-group; }
th { text-align: left; font-weight: 600; border-bottom: 1.5px solid #777; padding: 3px 4px; vertical-align: bottom; }
td { border-bottom: 1px solid var(--rule); padding: 3px 4px; vertical-align: top; }
tr { break-inside: avoid; page-break-inside: avoid; }
td.num, th.num { text-align: right; white-space: nowrap; }
td .n, td .prev { display: block; color: var(--muted); font-size: 7.5pt; white-space: nowrap; }
td .ci { color: var(--muted); font-size: 7.5pt; white-space: nowrap; }
td.nw { white-space: nowrap; }
tr.total td { font-weight: 600; border-top: 1.5px solid #777; }
p.empty { color: var(--muted); font-style: italic; margin: 2px 0 8px; }
.child { border: 1px solid var(--rule); border-left: 5px solid #8C8C8C; padding: 5px 9px; margin: 6px 0;
         break-inside: avoid; page-break-inside: avoid; }
.child.high { border-left-color: #D55E00; } .child.medium { border-left-color: #E69F00; } .child.low { border-left-color: #56B4E9; }
.child .head { font-weight: 600; }
.child .head .sev { display: inline-block; font-size: 8pt; padding: 0 6px; margin-left: 6px; border-radius: 3px;
                    color: #fff; background: #8C8C8C; vertical-align: 1px; }
.child.high .sev { background: #D55E00; } .child.medium .sev { background: #9E6B00; } .child.low .sev { background: #2A7FB0; }
.child .meta { color: var(--muted); font-size: 8.5pt; }
.child ul { margin: 3px 0 0; padding-left: 18px; }
.child li { margin: 2px 0; }
.figure { width: 680px; max-width: 100%; margin: 8px 0 4px; break-inside: avoid; page-break-inside: avoid; }
.chart { width: 680px; }
footer.pack { margin-top: 24px; color: var(--muted); font-size: 8pt; border-top: 1px solid var(--rule); padding-top: 6px; }
@page { size: A4; margin: 14mm 12mm 16mm 12mm; }
@media print {
  body { padding: 0; max-width: none; font-size: 9.5pt; }
  section.pack-section + section.pack-section { margin-top: 0; }
  .modebar-container, .modebar { display: none !important; }
  a { color: inherit; text-decoration: none; }
}
"""


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal: everything but letters, digits and spaces hex-escaped."""
    # a hex escape ends at the first space after it, so every escape gets one of its own
    return '"' + "".join(c if (c.isalnum() and c.isascii()) or c == " " else f"\\{ord(c):06x} " for c in text) + '"'


def _cells_html(frame: pd.DataFrame, c: Col) -> tuple[list[str], bool]:
    """Each row's cell content of column ``c`` (value, interval, n, previous value; escaped),
    column by column, and whether the column is numeric."""
    numeric = c.kind not in ("text", "id", "date", "month", "bool")
    v = values(frame, c.name)
    parts = [html.escape(cell(x, c.kind)) for x in v]
    if c.ci:
        lo, hi = values(frame, c.ci[0]), values(frame, c.ci[1])
        parts = [p + f' <span class="ci">({html.escape(cell(a, c.kind))} to {html.escape(cell(b, c.kind))})</span>'
                 if not isinstance(x, str) and not is_missing(x)
                 and not (is_missing(a) or is_missing(b) or isinstance(a, str) or isinstance(b, str)) else p
                 for p, x, a, b in zip(parts, v, lo, hi)]
    if c.n:
        lab = html.escape(c.n_label)
        parts = [p + f'<span class="n">n = {html.escape(cell(n, "int"))} {lab}</span>'
                 for p, n in zip(parts, values(frame, c.n))]
    if c.prev:
        out = []
        for p, x, pv in zip(parts, v, values(frame, c.prev)):
            d = delta(x, pv, c.kind)
            out.append(p + f'<span class="prev">prev {html.escape(cell(pv, c.kind))}'
                       f'{" · " + html.escape(d) if d else ""}</span>')
        parts = out
    return parts, numeric


# the printable pack (HTML, PDF) lists at most this many rows of a table and cards of flagged children,
# most urgent (or first) first, and says how many more the Excel pack holds: one team's pack at 1M rows
# listed 2,933 flagged children over 421 PDF pages
PRINT_ROWS = 100


def _more_note(shown: int, total: int, what: str) -> str:
    return (f'<p class="note">The first {shown:,} of {total:,} {what} are listed here; the Excel pack '
            "lists every one.</p>")


def _table_html(t: Table) -> str:
    out = [f"<h3>{html.escape(t.title)}</h3>"]
    more = ""
    if t.frame is not None and len(t.frame) > PRINT_ROWS:
        frame = t.frame
        total = [not is_missing(x) and bool(x) for x in values(frame, "is_total")] if "is_total" in frame.columns \
            else [False] * len(frame)
        keep = [i for i, tot in enumerate(total) if not tot][:PRINT_ROWS]
        n_rows = total.count(False)
        if n_rows > PRINT_ROWS:   # the total rows stay
            more = _more_note(PRINT_ROWS, n_rows, "rows")
            keep += [i for i, tot in enumerate(total) if tot]
            t = replace(t, frame=frame.iloc[sorted(keep)])
    if t.frame is None or t.frame.empty:
        out.append(f'<p class="empty">{html.escape(t.empty)}</p>')
    else:
        head = "".join(f'<th class="{"num" if c.kind not in ("text", "id", "date", "month", "bool") else ""}">'
                       f"{html.escape(c.label)}</th>" for c in t.columns)
        columns = []
        for c in t.columns:  # column by column: one list of <td> per column
            content, numeric = _cells_html(t.frame, c)
            cls = "num" if numeric else ("nw" if c.kind in ("id", "date", "month") else "")
            columns.append([f'<td class="{cls}">{x}</td>' for x in content])
        total = [bool(x) for x in values(t.frame, "is_total")] if "is_total" in t.frame.columns else \
            [False] * len(t.frame)
        opening = {True: '<tr class="total">', False: "<tr>"}
        rows = [opening[tot] + "".join(tds) + "</tr>" for tot, tds in zip(total, zip(*columns))] if columns \
            else ["<tr></tr>"] * len(t.frame)
        out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
    if more:
        out.append(more)
    if t.note:
        out.append(f'<p class="note">{html.escape(t.note)}</p>')
    # a short table stays on one page with its title and note; a long one keeps its note with its last rows
    short = t.frame is None or len(t.frame) <= 16
    return f'<div class="tbl{" keep" if short else ""}">' + "\n".join(out) + "</div>"


def _attention_html(p: MeetingPack) -> str:
    """One card per flagged child, most urgent first: who, figures in the period, each flag's reason."""
    if p.attention_children.empty:
        return '<p class="empty">No child flagged.</p>'
    items: dict = {}
    a = p.attention
    for child, title, sev, reason, since in zip(values(a, "child_id"), values(a, "title"), values(a, "severity_label"),
                                                values(a, "reason"), values(a, "since")):
        since = f" <span class=\"meta\">(since {html.escape(day(since))})</span>" if not is_missing(since) else ""
        items.setdefault(child, []).append(
            f"<li><b>{html.escape(str(title))}</b> [{html.escape(str(sev))}]: {html.escape(str(reason))}{since}</li>")
    cards = []
    for r in p.attention_children.head(PRINT_ROWS).to_dict("records"):
        sev = str(r["severity_label"])
        meta = " · ".join(html.escape(str(x)) for x in (r["therapist_id"], r["modality"], f"age {r['age_group']}")
                          if not is_missing(x))
        if int(r["sessions"]):
            eng = (f", mean engagement {r['mean_engagement']:.2f} (n = {int(r['n_rated'])} rated)"
                   if not is_missing(r["mean_engagement"]) else "")
            period = f"In the period: {int(r['attended'])} of {int(r['sessions'])} sessions attended{eng}."
        else:
            period = f"No session in the period (last: {day(r['last_session'])})." if not is_missing(
                r["last_session"]) else "No session in the period."
        cards.append(
            f'<div class="child {html.escape(sev)}"><div class="head">{html.escape(str(r["child_id"]))}'
            f'<span class="sev">{html.escape(sev)}</span> <span class="meta">{meta}</span></div>'
            f'<div class="meta">{html.escape(period)}</div><ul>{"".join(items.get(r["child_id"], []))}</ul></div>')
    if len(p.attention_children) > PRINT_ROWS:
        cards.append(_more_note(PRINT_ROWS, len(p.attention_children), "flagged children (most urgent first)"))
    return "\n".join(cards)


def _figure_json(fig: go.Figure) -> str:
    # plotly's JSON escapes < > & already; escape again so no "</script>" can ever appear
    return pio.to_json(fig, validate=False).replace("<", "\\u003c").replace(">", "\\u003e")


def render_html(pack: MeetingPack) -> str:
    """The pack as one self-contained HTML document: plotly.js inlined, charts interactive,
    no request to any network; printing it (browser or ``render_pdf``) puts each section
    on a new page."""
    esc = html.escape
    charts: list[tuple[str, str]] = []
    body: list[str] = []
    eff_to = min(pack.date_to, pack.as_of) if pack.as_of else pack.date_to
    meta = [("Scope", pack.scope), ("Period", pack.period),
            ("Compared with", f"{day(pack.prev_from)} – {day(pack.prev_to)} (previous period, same length)"),
            ("Data up to", f"{day(pack.as_of)}" + (" (flags as of this date)" if eff_to < pack.date_to else "")),
            ("Trends from", month(pack.trend_from)),
            ("Generated", pack.generated_at.strftime("%Y-%m-%d %H:%M"))]
    body.append('<header class="pack"><div class="kicker">Team meeting pack</div>'
                f"<h1>{esc(pack.scope)}</h1><dl>"
                + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in meta) + "</dl>"
                + ('<div class="shared"><b>Shared version:</b> figures resting on fewer than '
                   f"{pack.small_cell_min} children show as {esc(pack.small_text)}; a figure shown as "
                   f"\u201c{HIDDEN_TEXT}\u201d is hidden so that a {esc(pack.small_text)} one cannot be worked out "
                   "from a total; child-level lists are replaced by counts.</div>" if pack.suppress_small_cells else
                   '<div class="shared">Internal to the team: lists pseudonymous child ids. For a pack shared beyond '
                   "the team, make the suppressed version.</div>")
                + "</header>")
    for i, sec in enumerate(pack.sections, start=1):
        parts = [f'<section class="pack-section" id="{esc(sec.key)}"><h2>{i} · {esc(sec.title)}</h2>']
        parts += [f'<p class="summary">{esc(s)}</p>' for s in sec.summary]
        if sec.key == "attention" and not pack.suppress_small_cells:
            parts.append(_attention_html(pack))  # the cards hold both tables' content
        elif sec.key == "trends":
            for key, fig in sec.figures:
                div = f"chart-{key}"
                charts.append((div, _figure_json(fig)))
                parts.append(f'<div class="figure"><div class="chart" id="{div}"></div></div>')
            parts += [_table_html(t) for t in sec.tables]
        else:
            parts += [_table_html(t) for t in sec.tables]
            for key, fig in sec.figures:
                div = f"chart-{key}"
                charts.append((div, _figure_json(fig)))
                parts.append(f'<div class="figure"><div class="chart" id="{div}"></div></div>')
        if sec.notes:
            parts.append('<div class="notes">' + "".join(f"<p>{esc(n)}</p>" for n in sec.notes) + "</div>")
        parts.append("</section>")
        body.append("\n".join(parts))
    body.append('<footer class="pack">Pseudonymous ids only. Figures from the practice warehouse via the analytics '
                "layer (analytics/); thresholds and minimum n in settings.toml. n = the count each figure "
                "rests on.</footer>")
    footer_left = _css_string(f"{pack.scope} · {pack.period}")
    box = 'font-family: "Helvetica Neue", Arial, "Liberation Sans", sans-serif; font-size: 8pt; color: #5a5a5a;'
    page_css = ("@page { @bottom-left { content: " + footer_left + "; " + box + " } "
                "@bottom-right { content: \"page \" counter(page) \" of \" counter(pages); " + box + " } }")
    calls = ",\n".join(f'  ["{div}", {js}]' for div, js in charts)
    script = f"""
(function () {{
  var figs = [
{calls}
  ];
  var cfg = {{displaylogo: false, responsive: false, modeBarButtonsToRemove: ["sendDataToCloud"]}};
  var done = [];
  figs.forEach(function (f) {{
    var el = document.getElementById(f[0]);
    done.push(Plotly.newPlot(el, f[1].data, f[1].layout, cfg));
  }});
  Promise.all(done).then(function () {{ document.documentElement.setAttribute("data-charts-ready", "1"); }},
                         function (e) {{ document.documentElement.setAttribute("data-charts-ready", "error");
                                         console.error(e); }});
}})();
"""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        # no request leaves the file: no favicon lookup, no external anything
        "<link rel=\"icon\" href=\"data:,\">"
        f"<title>{esc(pack.title)}</title><style>{_CSS}\n{page_css}</style>"
        f"<script>{get_plotlyjs()}</script></head><body>\n"
        + "\n".join(body)
        + f"\n<script>{script}</script>\n</body></html>\n")
