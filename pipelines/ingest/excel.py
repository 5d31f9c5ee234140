"""Excel into ``raw_rows`` with python-calamine (nothing in the workbook is executed); cells
over ``[uploads] max_cell_chars`` reject their row."""

from __future__ import annotations

from pipelines import settings
from pipelines.ingest.common import ReadResult, Sniffed, UnusableFile, materialise, pick_profile
from pipelines.profiles import Profile


def read_excel(con, sniffed: Sniffed, profile: Profile | None, sheet: str | None, name: str) -> ReadResult:
    from python_calamine import CalamineWorkbook  # read-only parser: no macros, no formulas run

    try:
        wb = CalamineWorkbook.from_path(str(sniffed.path))
    except Exception as exc:  # calamine raises its own error types
        raise UnusableFile(f"{name}: not a readable Excel workbook ({exc})") from None
    names = wb.sheet_names
    wanted = sheet or (profile.sheet if profile else None)
    if wanted and wanted not in names:
        if sheet:
            raise UnusableFile(f"{name}: no sheet named '{sheet}' (sheets: {', '.join(names)})")
        wanted = None
    chosen = wanted or names[0]
    rows = wb.get_sheet_by_name(chosen).to_python(skip_empty_area=True)
    if not rows:
        raise UnusableFile(f"{name}: sheet '{chosen}' is empty")
    headers = [str(h).strip() if h is not None else "" for h in rows[0]]
    profile, hmap = pick_profile(profile, headers, name)
    if profile.sheet and not sheet and profile.sheet in names and chosen != profile.sheet:
        return read_excel(con, sniffed, profile, profile.sheet, name)
    pos = {h: i for i, h in reversed(list(enumerate(headers)))}
    positions = {col: pos[src] for col, src in hmap.mapping.items()}
    import pandas as pd

    width = len(headers)
    # A cell longer than Excel itself allows is not an export's: its row is rejected, not read.
    limit = max_cell_chars()
    rejects: list[tuple[int, str | None, str | None, str]] = []
    kept: list[int] = []
    for k, r in enumerate(rows[1:], start=1):
        long = next((i for i, v in enumerate(r) if isinstance(v, str) and len(v) > limit), None)
        if long is None:
            kept.append(k)
            continue
        where = f"column '{headers[long][:60]}' (column {long + 1})" if long < width else f"column {long + 1}"
        canonical = next((c for c, i in positions.items() if i == long), None)
        rejects.append((k + 1, canonical, None,
                        f"a cell in {where} has {len(r[long]):,} characters, more than {limit:,} characters "
                        "(Excel's own limit; [uploads] max_cell_chars in settings.toml); the row is not read"))
    data = {f"c{i}": [_cell_text(rows[k][i]) if i < len(rows[k]) else None for k in kept] for i in range(width)}
    frame = pd.DataFrame(data, dtype="object")
    frame["_rn"] = pd.Series(kept, dtype="int64")
    con.register("excel_rows", frame)
    try:
        n = materialise(con, "select * from excel_rows", hmap, pos, profile, "_rn + 1")
    finally:
        con.unregister("excel_rows")
    return ReadResult("xlsx", n + len(rejects), hmap, profile, rejects, sheet=chosen)


def max_cell_chars() -> int:
    """``[uploads] max_cell_chars`` of settings.toml: the longest Excel cell read (Excel's own limit, 32,767)."""
    return settings.get().uploads.max_cell_chars


def _cell_text(value) -> str | None:
    """An Excel cell as the text a user sees: dates ISO, whole numbers without '.0'."""
    import datetime as dt

    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
