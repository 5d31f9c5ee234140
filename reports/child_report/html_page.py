"""The report as one self-contained HTML document (``render_html``): plotly.js and every chart
inlined, no request to any network or file (``reports.pdf`` prints it to PDF). The
therapist's version and the parent version (larger type, no statistics) share the sections'
data (``sections.py``); the display name, narrative and plan typed at download time are
arguments here and nowhere else."""

from __future__ import annotations

import html

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from reports.child_report import sections
from reports.child_report.model import ChildReport

_CSS = """
:root { --ink: #1a1a1a; --muted: #555; --rule: #d9d9d9; --accent: #0072B2; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font-family: "Helvetica Neue", Arial, "Liberation Sans", sans-serif; color: var(--ink); font-size: 10.5pt;
       line-height: 1.45; margin: 0 auto; padding: 24px 16px 48px; max-width: 760px; background: #fff; }
body.parent { font-size: 14pt; line-height: 1.55; }
header.cover { border-bottom: 3px solid var(--accent); padding-bottom: 10px; margin-bottom: 14px; }
header.cover .kicker { font-size: 9pt; letter-spacing: .08em; text-transform: uppercase; color: var(--accent); }
header.cover h1 { font-size: 20pt; margin: 2px 0 6px; }
body.parent header.cover h1 { font-size: 26pt; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 1px 14px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
h2 { font-size: 15pt; margin: 18px 0 6px; color: var(--accent); border-bottom: 1px solid var(--rule); padding-bottom: 3px;
     break-after: avoid; page-break-after: avoid; }
body.parent h2 { font-size: 19pt; }
h3 { font-size: 11.5pt; margin: 14px 0 4px; break-after: avoid; page-break-after: avoid; }
body.parent h3 { font-size: 15pt; }
.goal { break-inside: avoid; page-break-inside: avoid; border-top: 1px solid var(--rule); padding-top: 6px; }
.status { display: inline-block; font-size: 8.5pt; padding: 0 6px; border-radius: 3px; color: #fff; background: #0072B2;
          vertical-align: 1px; margin-left: 4px; }
.status.met, .status.mastered { background: #00795A; } .status.stalled { background: #B34A00; }
.status.norecent { background: #8A5D00; } .status.stopped { background: #6B6B6B; }
p.note { color: var(--muted); font-size: 9pt; margin: 3px 0 8px; }
table { border-collapse: collapse; width: 100%; font-size: 9pt; margin: 4px 0 8px; }
th { text-align: left; font-weight: 600; border-bottom: 1.5px solid #777; padding: 3px 4px; vertical-align: bottom; }
td { border-bottom: 1px solid var(--rule); padding: 3px 4px; vertical-align: top; }
tr { break-inside: avoid; page-break-inside: avoid; }
ul.levels { margin: 2px 0 6px; padding-left: 18px; font-size: 9.5pt; }
.figure { width: 680px; max-width: 100%; margin: 6px 0; break-inside: avoid; page-break-inside: avoid; }
.typed { white-space: pre-wrap; border-left: 3px solid var(--accent); padding: 4px 10px; margin: 4px 0 10px; }
.blank { border-bottom: 1px solid #999; height: 1.6em; margin: 6px 0; }
details.methods summary, .methods h3 { font-weight: 600; }
.methods dt { font-weight: 600; margin-top: 6px; } .methods dd { margin: 0 0 0 0; }
.methods .ref { color: var(--muted); font-size: 8.5pt; }
footer { margin-top: 24px; color: var(--muted); font-size: 8pt; border-top: 1px solid var(--rule); padding-top: 6px; }
@page { size: A4; margin: 14mm 12mm 16mm 12mm; }
@media print { body { padding: 0; max-width: none; } .modebar-container, .modebar { display: none !important; } }
"""


def esc(v: object) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def _fig_json(fig: go.Figure) -> str:
    # inside a <script>: "</" must not close it
    return fig.to_json().replace("</", "<\\/")


def render_html(report: ChildReport, *, parent: bool = False, display_name: str | None = None,
                narrative: str | None = None, plan: str | None = None) -> str:
    """The report as HTML text. ``display_name``, ``narrative`` and ``plan`` (typed by the
    therapist just before download) are written into this document and kept nowhere."""
    doc = sections.document(report, parent=parent, display_name=display_name, narrative=narrative, plan=plan)
    body: list[str] = []
    charts: list[tuple[str, str]] = []
    c = doc.cover
    body.append('<header class="cover">' f'<div class="kicker">{esc(c.kicker)}</div><h1>{esc(c.title)}</h1>'
                '<dl class="facts">' + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in c.facts)
                + "</dl></header>")
    for sec in doc.sections:
        parts = [f'<section class="{esc(sec.key)}"><h2>{esc(sec.title)}</h2>']
        for p in sec.paragraphs:
            parts.append(f"<p>{esc(p)}</p>")
        if sec.bullets:
            parts.append("<ul>" + "".join(f"<li>{esc(b)}</li>" for b in sec.bullets) + "</ul>")
        if sec.table is not None:
            head, rows = sec.table
            parts.append("<table><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr></thead><tbody>"
                         + "".join("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in r) + "</tr>" for r in rows)
                         + "</tbody></table>")
        for g in sec.goals:
            badge = (f' <span class="status {esc(g.status_class)}">{esc(g.status_words)}</span>'
                     if g.status_words else "")
            parts.append(f'<div class="goal"><h3>{esc(g.heading)}{badge}</h3><p>{esc(g.sentence)}</p>')
            for line in g.details:
                parts.append(f'<p class="note">{esc(line)}</p>')
            if g.levels:
                parts.append('<ul class="levels">' + "".join(f"<li>{esc(x)}</li>" for x in g.levels) + "</ul>")
            if g.figure is not None:
                div = f"chart{len(charts)}"
                charts.append((div, _fig_json(g.figure)))
                parts.append(f'<div class="figure" role="img" aria-label="{esc(g.heading)}"><div id="{div}"></div>'
                             "</div>")
            parts.append("</div>")
        if sec.typed is not None:
            parts.append(f'<div class="typed">{esc(sec.typed)}</div>' if sec.typed else
                         '<p class="note">To be written by the therapist.</p>'
                         + '<div class="blank"></div>' * 3)
        if sec.methods:
            parts.append('<dl class="methods">' + "".join(
                f"<dt>{esc(name)}</dt><dd>{esc(what)}<br><span class=\"ref\">{esc(ref)}</span></dd>"
                for name, what, ref in sec.methods) + "</dl>")
        for n in sec.notes:
            parts.append(f'<p class="note">{esc(n)}</p>')
        parts.append("</section>")
        body.append("\n".join(parts))
    body.append(f"<footer>{esc(doc.footer)}</footer>")
    calls = ",\n".join(f'  ["{div}", {js}]' for div, js in charts)
    script = f"""
(function () {{
  var figs = [
{calls}
  ];
  var cfg = {{displaylogo: false, responsive: false, staticPlot: false, displayModeBar: false}};
  var done = [];
  figs.forEach(function (f) {{ done.push(Plotly.newPlot(document.getElementById(f[0]), f[1].data, f[1].layout, cfg)); }});
  Promise.all(done).then(function () {{ document.documentElement.setAttribute("data-charts-ready", "1"); }},
                         function (e) {{ document.documentElement.setAttribute("data-charts-ready", "error"); }});
}})();
"""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<link rel=\"icon\" href=\"data:,\">"
            f"<title>{esc(c.title)}</title><style>{_CSS}</style>"
            f"<script>{get_plotlyjs()}</script></head><body class=\"{'parent' if parent else 'therapist'}\">\n"
            + "\n".join(body) + f"\n<script>{script}</script>\n</body></html>\n")
