"""Files uploaded on the dashboard's Data page, loaded through the same pipeline as the CLI.

Checks before anything is written (``check``), with the limits of ``[uploads]`` in
settings.toml: each file is at most ``max_mb``; an Excel workbook (a zip) unpacks to at most
``max_uncompressed_mb`` and has at most ``max_rows`` rows below the header in any sheet --
both read from the zip's own directory and a streamed count of its sheets' rows, so a
"zip bomb" is refused before calamine ever opens it. Then ``pipelines.load`` decides the type
from the content (``ingest.sniff``: CSV text, an .xlsx zip, Parquet), never from the name,
and refuses anything else with the file named. Excel is read by calamine, which reads cell
values only: no macro, formula or external link is ever run; a row with a cell longer than
``max_cell_chars`` (Excel's own limit, 32,767) is rejected with its reason.
"""

from __future__ import annotations

import dataclasses
import io
import re
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

from pipelines import load as loader, settings
from pipelines.transform import Step

MIB = 1024 * 1024


class UploadRefused(ValueError):
    """An upload that is not loaded at all; the message names the file(s)."""


def limits() -> dict[str, float]:
    """The ``[uploads]`` limits of settings.toml (``settings.UploadSettings``) by name."""
    return dataclasses.asdict(settings.get().uploads)


def max_mb() -> float:
    """``[uploads] max_mb`` of settings.toml."""
    return limits()["max_mb"]


def check(files: list[tuple[str, bytes]], limit_mb: float | None = None, caps: dict | None = None) -> None:
    """Raise ``UploadRefused`` naming every file over a limit (nothing is loaded then).

    ``caps`` overrides some of ``limits()`` (tests use small ones).
    """
    lim = {**limits(), **(caps or {})}
    limit_mb = lim["max_mb"] if limit_mb is None else float(limit_mb)
    too_big = [f"{Path(name).name} ({len(content) / 1e6:.1f} MB)" for name, content in files
               if len(content) > limit_mb * MIB]
    if too_big:
        raise UploadRefused(f"{', '.join(too_big)}: larger than the {limit_mb:g} MB upload limit ([uploads] max_mb "
                            "in settings.toml); load big exports with `python -m pipelines load` instead")
    problems = [msg for name, content in files if content.startswith(b"PK\x03\x04")
                and (msg := _check_workbook(Path(name).name, content, lim))]
    if problems:
        raise UploadRefused("; ".join(problems))


_SHEET = re.compile(rb'<(?:\w+:)?sheet\b[^>]*?\bname="([^"]*)"[^>]*?\b(?:\w+:)?id="([^"]*)"')
_REL = re.compile(rb'<(?:\w+:)?Relationship\b[^>]*?\bId="([^"]*)"[^>]*?\bTarget="([^"]*)"')
_REL_TARGET_FIRST = re.compile(rb'<(?:\w+:)?Relationship\b[^>]*?\bTarget="([^"]*)"[^>]*?\bId="([^"]*)"')
_ROW = re.compile(rb"<(?:\w+:)?row[\s>/]")


def _check_workbook(name: str, content: bytes, lim: dict) -> str | None:
    """Why this zip may not be read as an upload (too big unpacked, too many rows), or None.

    Only the zip's directory and a streamed pass over its members are read (never more than
    the unpacked limit, and zipfile checks each member's size and CRC as it goes), so a
    bomb never reaches memory. A zip that is not a workbook is left to the loader to refuse.
    """
    try:
        z = zipfile.ZipFile(io.BytesIO(content))
        members = z.infolist()
    except (zipfile.BadZipFile, ValueError):
        return None
    unpacked = sum(m.file_size for m in members)
    cap = lim["max_uncompressed_mb"] * MIB
    if unpacked > cap:
        return (f"{name}: unpacks to {unpacked / MIB:.0f} MB, more than the {lim['max_uncompressed_mb']:g} MB an "
                "uploaded workbook may unpack to ([uploads] max_uncompressed_mb in settings.toml); save it as CSV "
                "and upload or load that")
    sheets = _sheet_names(z)
    worst: tuple[int, str] = (0, "")
    try:
        for m in members:
            rows = 0
            sheet = m.filename.startswith("xl/worksheets/") and m.filename.endswith(".xml")
            with z.open(m) as fh:
                carry = b""
                while chunk := fh.read(1 << 20):
                    if sheet:
                        buf = carry + chunk
                        edge = max(len(buf) - 16, 0)
                        rows += sum(1 for r in _ROW.finditer(buf) if r.start() < edge)
                        carry = buf[edge:]
                rows += len(_ROW.findall(carry)) if sheet else 0
            if rows > worst[0]:
                worst = (rows, sheets.get(m.filename, m.filename))
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        return f"{name}: not a readable Excel workbook ({exc})"
    data_rows = max(worst[0] - 1, 0)  # the first row is the header
    if data_rows > lim["max_rows"]:
        return (f"{name}: {data_rows:,} data rows in sheet '{worst[1]}', more than the {int(lim['max_rows']):,} "
                "an upload may have ([uploads] max_rows in settings.toml); load it with "
                "`python -m pipelines load`, or upload it in parts")
    return None


def _sheet_names(z: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part name -> the sheet's name as Excel shows it (read with patterns, not an XML parser)."""
    def small(part: str) -> bytes:
        try:
            info = z.getinfo(part)
        except KeyError:
            return b""
        return z.read(part) if info.file_size <= MIB else b""

    try:
        book, rels = small("xl/workbook.xml"), small("xl/_rels/workbook.xml.rels")
    except (zipfile.BadZipFile, OSError, RuntimeError):
        return {}
    targets = {i: t for i, t in _REL.findall(rels)} | {i: t for t, i in _REL_TARGET_FIRST.findall(rels)}
    out = {}
    for sheet_name, rid in _SHEET.findall(book):
        target = targets.get(rid, b"").decode("utf-8", "replace").lstrip("/")
        part = target if target.startswith("xl/") else f"xl/{target}"
        out[part] = sheet_name.decode("utf-8", "replace")
    return out


def load_uploaded(files: list[tuple[str, bytes]], db: Path, profile: str | None = None,
                  limit_mb: float | None = None, caps: dict | None = None,
                  after_build: Iterable[Step] = ()) -> loader.LoadReport:
    """Check, then load ``(name, bytes)`` uploads into ``db``; the load report names them as uploaded.

    ``after_build`` goes to ``pipelines.load.load`` (the dashboard passes ``analytics.stored.STEPS``)."""
    check(files, limit_mb, caps)
    with tempfile.TemporaryDirectory(prefix="upload-") as tmp:
        paths = []
        for i, (name, content) in enumerate(files):
            safe = Path(name).name or "upload"
            folder = Path(tmp) / str(i)   # two uploads with one name stay two files
            folder.mkdir()
            p = folder / safe
            p.write_bytes(content)
            paths.append(p)
        return loader.load(paths, db=db, profile=profile or None, after_build=after_build)
