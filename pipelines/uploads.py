"""Files uploaded on the dashboard's Data page, loaded through the same pipeline as the CLI.

Checks before anything is written: each file is at most ``[uploads] max_mb`` (settings.toml);
then ``pipelines.load`` decides the type from the content (``ingest.sniff``: CSV text,
an .xlsx zip, Parquet), never from the name, and refuses anything else with the file named.
Excel is read by calamine, which reads cell values only: no macro, formula or external
link is ever run.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from pipelines import load as loader, settings as settings_mod


class UploadRefused(ValueError):
    """An upload that is not loaded at all; the message names the file(s)."""


def max_mb() -> float:
    """``[uploads] max_mb`` of settings.toml (default 50)."""
    return float(settings_mod.load().get("uploads", {}).get("max_mb", 50))


def check(files: list[tuple[str, bytes]], limit_mb: float | None = None) -> None:
    """Raise ``UploadRefused`` naming every file over the size limit (nothing is loaded then)."""
    limit_mb = max_mb() if limit_mb is None else float(limit_mb)
    too_big = [f"{Path(name).name} ({len(content) / 1e6:.1f} MB)" for name, content in files
               if len(content) > limit_mb * 1024 * 1024]
    if too_big:
        raise UploadRefused(f"{', '.join(too_big)}: larger than the {limit_mb:g} MB upload limit ([uploads] max_mb "
                            "in settings.toml); load big exports with `python -m pipelines load` instead")


def load_uploaded(files: list[tuple[str, bytes]], db: Path, profile: str | None = None,
                  limit_mb: float | None = None) -> loader.LoadReport:
    """Check, then load ``(name, bytes)`` uploads into ``db``; the load report names them as uploaded."""
    check(files, limit_mb)
    with tempfile.TemporaryDirectory(prefix="upload-") as tmp:
        paths = []
        for i, (name, content) in enumerate(files):
            safe = Path(name).name or "upload"
            folder = Path(tmp) / str(i)   # two uploads with one name stay two files
            folder.mkdir()
            p = folder / safe
            p.write_bytes(content)
            paths.append(p)
        return loader.load(paths, db=db, profile=profile or None)
