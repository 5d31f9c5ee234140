"""The vendor export: the same rows as a practice-management system writes them, as an .xlsx
sheet and a semicolon-separated Latin-1 CSV, in the format the profile states.

Headers, date format, sheet name and value spellings come from the profile
(``profiles/vendor_pms.toml`` unless another is given, read through ``pipelines.profiles``):
each column's header is the profile's first header for it, each value is written as the
profile's first spelling of it (``profiles.spellings``; a value it does not list stays as it
is). Ours are only the placeholder name column (which the profile must drop at load), the
CSV dialect and the workbook's fixed metadata.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from pipelines import profiles

from .constants import COLUMNS
from .text import text_columns, write_csv

PROFILE = "vendor_pms"
NAME_HEADER = "Client Name"        # placeholder names ("Child 0001"), right after the child id
CSV_DELIMITER = ";"
CSV_ENCODING = "latin-1"
EXCEL_MAX_ROWS = 1_048_576
_EXCEL_DATE_PARTS = {"%d": "dd", "%m": "mm", "%Y": "yyyy", "%y": "yy", "%b": "mmm", "%B": "mmmm"}


@dataclass(frozen=True)
class VendorFormat:
    """What the writer needs from a profile."""
    source: str                             # the profile file
    headers: dict[str, str]                 # canonical column -> header, in COLUMNS order
    date_format: str                        # strftime
    sheet: str
    spellings: dict[str, dict[str, str]]    # field -> {canonical value: vendor spelling}

    @property
    def excel_date_format(self) -> str:
        """The date format as an Excel number format ("%d/%m/%Y" -> "dd/mm/yyyy")."""
        parts = re.split(r"(%.)", self.date_format)
        out = []
        for part in parts:
            if part.startswith("%"):
                if part not in _EXCEL_DATE_PARTS:
                    raise ValueError(f"profile {self.source}: date_format {self.date_format!r}: "
                                     f"{part} has no Excel equivalent here")
                out.append(_EXCEL_DATE_PARTS[part])
            elif re.search(r"[A-Za-z]", part):
                raise ValueError(f"profile {self.source}: date_format {self.date_format!r}: "
                                 f"letters {part!r} between date parts are not supported")
            else:
                out.append(part)
        return "".join(out)


def vendor_format(profile: str | Path = PROFILE) -> VendorFormat:
    """The profile's headers, date format, sheet and spellings (by name or path); a ValueError
    names the profile when it has no fixed date format or would keep the name column."""
    p = profiles.load(str(profile))
    if p.date_format == "auto":
        raise ValueError(f"profile {p.source}: a vendor export needs a fixed date_format, not 'auto'")
    drops = {profiles.normalise_header(d) for d in p.drop_columns}
    if profiles.normalise_header(NAME_HEADER) not in drops:
        raise ValueError(f"profile {p.source}: would keep the name column {NAME_HEADER!r} "
                         "([privacy] drop_columns must list it)")
    return VendorFormat(source=p.source, headers={c: p.columns[c][0] for c in COLUMNS},
                        date_format=p.date_format, sheet=p.sheet or "Sheet1",
                        spellings=profiles.spellings(str(profile)))


def vendor_columns(table: pa.Table, fmt: VendorFormat) -> dict[str, pa.Array]:
    """The table's columns under the profile's headers, values in its spellings, with the
    placeholder name column after the child id."""
    out: dict[str, pa.Array] = {}
    for name in COLUMNS:
        col = table[name].combine_chunks()
        spelled = fmt.spellings.get(name)
        if spelled:
            enc = pc.dictionary_encode(col)
            mapped = pa.array([spelled.get(v, v) for v in enc.dictionary.to_pylist()], pa.string())
            col = mapped.take(enc.indices)
        out[fmt.headers[name]] = col
        if name == "child_id":
            out[NAME_HEADER] = pc.binary_join_element_wise("Child", pc.utf8_slice_codeunits(col, 1), " ")
    return out


def write_vendor(table: pa.Table, out: Path, stem: str, kinds: tuple[str, ...] = ("xlsx", "csv"),
                 profile: str | Path = PROFILE) -> list[dict]:
    """Write ``stem.csv`` and/or ``stem.xlsx`` under out; return what was written."""
    fmt = vendor_format(profile)
    cols = vendor_columns(table, fmt)
    written = []
    n = table.num_rows
    if "csv" in kinds:
        text = text_columns(pa.table(cols), date_format=fmt.date_format)
        path = out / f"{stem}.csv"
        write_csv(path, text, list(text), CSV_DELIMITER, encoding=CSV_ENCODING)
        written.append({"path": str(path), "format": "vendor-csv", "rows": n})
    if "xlsx" in kinds:
        path = out / f"{stem}.xlsx"
        _write_xlsx(path, cols, n, fmt)
        written.append({"path": str(path), "format": "vendor-xlsx", "rows": n})
    return written


def _write_xlsx(path: Path, cols: dict[str, pa.Array], n: int, fmt: VendorFormat) -> None:
    """One sheet: bold headers, dates as real Excel dates in the profile's format, text as
    text, numbers as numbers, empty cells left empty. Fixed metadata, so the bytes repeat."""
    if n + 1 > EXCEL_MAX_ROWS:
        raise ValueError(f"{n} rows do not fit one Excel sheet ({EXCEL_MAX_ROWS - 1} rows at most); "
                         "use the canonical format or fewer children")
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    wb.set_properties({"title": fmt.sheet, "author": "pipelines.sample", "created": dt.datetime(2000, 1, 1)})
    ws = wb.add_worksheet(fmt.sheet)
    bold = wb.add_format({"bold": True})
    datef = wb.add_format({"num_format": fmt.excel_date_format})
    headers = list(cols)
    ws.write_row(0, 0, headers, bold)
    date_cols = {headers.index(fmt.headers["session_date"]), headers.index(fmt.headers["date_of_birth"])}
    data = [cols[h].to_pylist() for h in headers]
    for j in date_cols:
        data[j] = [dt.datetime(d.year, d.month, d.day) for d in data[j]]
    for i in range(n):
        for j in range(len(headers)):
            v = data[j][i]
            if v is None:
                continue
            if j in date_cols:
                ws.write_datetime(i + 1, j, v, datef)
            elif isinstance(v, str):
                ws.write_string(i + 1, j, v)
            else:
                ws.write_number(i + 1, j, v)
    wb.close()
