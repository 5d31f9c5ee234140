"""``write_all``: pack.html, pack.xlsx and (when Chromium is there) pack.pdf in one folder."""

from __future__ import annotations

from pathlib import Path

from reports.meeting_pack.excel import write_excel
from reports.meeting_pack.html_page import render_html
from reports.meeting_pack.model import MeetingPack
from reports.pdf import ChromiumMissing, render_pdf


def write_all(pack: MeetingPack, out_dir: str | Path, pdf: bool = True) -> dict[str, Path | str]:
    """pack.html, pack.xlsx and (when Chromium is there) pack.pdf in ``out_dir``.

    Returns {"html": path, "xlsx": path, "pdf": path or the reason it was not written}."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    text = render_html(pack)
    result: dict[str, Path | str] = {}
    (out / "pack.html").write_text(text, encoding="utf-8")
    result["html"] = out / "pack.html"
    write_excel(pack, out / "pack.xlsx")
    result["xlsx"] = out / "pack.xlsx"
    if pdf:
        try:
            result["pdf"] = render_pdf(text, out / "pack.pdf")
        except ChromiumMissing as exc:
            result["pdf"] = str(exc)
    return result
