"""``make_files``: the report in the formats asked for (html, pdf, docx), as bytes or files."""

from __future__ import annotations

from pathlib import Path

from reports.child_report.docx_doc import render_docx
from reports.child_report.html_page import render_html
from reports.child_report.model import ChildReport, ReportError
from reports.child_report.snapshots import chart_images
from reports.pdf import ChromiumMissing, render_pdf

FORMATS = ("html", "pdf", "docx")
MIME = {"html": "text/html", "pdf": "application/pdf",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def parse_formats(text: str) -> tuple[str, ...]:
    """"pdf,html" -> ("pdf", "html"); ``ReportError`` naming an unknown format."""
    out = tuple(dict.fromkeys(x.strip().lower() for x in str(text).split(",") if x.strip()))
    bad = [x for x in out if x not in FORMATS]
    if bad or not out:
        raise ReportError(f"--format takes {', '.join(FORMATS)} (comma-separated); got {text!r}")
    return out


def make_bytes(report: ChildReport, fmt: str, *, parent: bool = False, display_name: str | None = None,
               narrative: str | None = None, plan: str | None = None) -> bytes:
    """One format's file as bytes (built now, kept nowhere). ``ChromiumMissing`` for a PDF without Chromium."""
    text = render_html(report, parent=parent, display_name=display_name, narrative=narrative, plan=plan)
    if fmt == "html":
        return text.encode("utf-8")
    if fmt == "docx":
        return render_docx(report, parent=parent, display_name=display_name, narrative=narrative, plan=plan,
                           images=chart_images(text))
    if fmt == "pdf":
        import tempfile

        with tempfile.TemporaryDirectory(prefix="child-report-pdf-") as tmp:
            return render_pdf(text, Path(tmp) / "report.pdf").read_bytes()
    raise ReportError(f"unknown format {fmt!r}")


def write_files(report: ChildReport, out_dir: str | Path, formats: tuple[str, ...] = FORMATS, *,
                parent: bool = False, display_name: str | None = None, narrative: str | None = None,
                plan: str | None = None) -> dict[str, Path | str]:
    """Write the formats into ``out_dir`` as ``<stem>.<fmt>``; {fmt: path, or why it was not written}."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = report.file_stem(parent)
    text = render_html(report, parent=parent, display_name=display_name, narrative=narrative, plan=plan)
    res: dict[str, Path | str] = {}
    for fmt in formats:
        path = out / f"{stem}.{fmt}"
        if fmt == "html":
            path.write_text(text, encoding="utf-8")
        elif fmt == "pdf":
            try:
                render_pdf(text, path)
            except ChromiumMissing as exc:
                res[fmt] = str(exc)
                continue
        elif fmt == "docx":
            path.write_bytes(render_docx(report, parent=parent, display_name=display_name, narrative=narrative,
                                         plan=plan, images=chart_images(text)))
        res[fmt] = path
    return res


def chromium_available() -> bool:
    """Whether a PDF can be printed here (the system Chromium of ``reports.pdf``)."""
    from reports.pdf import chromium_path

    return chromium_path() is not None
