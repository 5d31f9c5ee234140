"""Columns as CSV text, written straight from arrow buffers (no Python loop per row), and the
small arrow helpers the writers share."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def quote(arr: pa.Array, delim: str) -> pa.Array:
    """Each cell CSV-quoted when it holds the delimiter, a quote or a line break."""
    needs = pc.match_substring_regex(arr, f'[{delim}"\\r\\n]')
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(arr, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, arr)


def quote_py(v: str, delim: str) -> str:
    """One cell CSV-quoted when it needs it."""
    return '"' + v.replace('"', '""') + '"' if any(c in v for c in (delim, '"', "\r", "\n")) else v


def text_columns(table: pa.Table, date_format: str = "%Y-%m-%d") -> dict[str, pa.Array]:
    """Every column as text (null = empty cell), dates in ``date_format`` (strftime)."""
    out = {}
    for name in table.column_names:
        col = table[name].combine_chunks()
        if pa.types.is_date(col.type):
            col = pc.strftime(col, format=date_format)
        elif not pa.types.is_string(col.type):
            col = pc.cast(col, pa.string())
        out[name] = col
    return out


def line_array(cols: dict[str, pa.Array], delim: str) -> pa.Array:
    """One CSV line (without the newline) per row."""
    arrays = [quote(c, delim) for c in cols.values()]
    line = pc.binary_join_element_wise(*arrays, delim, null_handling="replace", null_replacement="")
    return pc.cast(line, pa.large_string())


def write_lines(path: Path, header: str, lines: pa.Array, encoding: str = "utf-8") -> None:
    """Write header + each line + "\\n" (straight from the arrow buffer, no per-row Python)."""
    with open(path, "wb") as fh:
        fh.write((header + "\n").encode(encoding))
        if len(lines) == 0:
            return
        nl = pa.scalar("\n", pa.large_string())
        line = pc.binary_join_element_wise(pc.cast(lines, pa.large_string()), nl, pa.scalar("", pa.large_string()))
        offsets = np.frombuffer(line.buffers()[1], dtype=np.int64)[line.offset:line.offset + len(line) + 1]
        body = memoryview(line.buffers()[2])[offsets[0]:offsets[-1]]
        fh.write(body if encoding == "utf-8" else bytes(body).decode("utf-8").encode(encoding))


def write_csv(path: Path, cols: dict[str, pa.Array], headers: list[str], delim: str, encoding: str = "utf-8") -> None:
    """A CSV file of the text columns under ``headers``."""
    write_lines(path, delim.join(quote_py(h, delim) for h in headers), line_array(cols, delim), encoding)


def as_bool(mask) -> np.ndarray:
    """An arrow boolean result as a numpy bool array (null = False)."""
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), bool)


def row_text(cols: dict[str, pa.Array], i: int) -> dict[str, str]:
    """Row i of text columns as {column: text}, null as ""."""
    return {k: ("" if v[i].as_py() is None else v[i].as_py()) for k, v in cols.items()}


def subset(cols: dict[str, pa.Array], mask: np.ndarray) -> dict[str, pa.Array]:
    """The rows where mask is True."""
    m = pa.array(mask)
    return {k: pc.filter(v, m) for k, v in cols.items()}


def set_cell(cols: dict[str, pa.Array], name: str, i: int, value: str | None) -> None:
    """Replace one cell (in place in the dict)."""
    mask = np.zeros(len(cols[name]), bool)
    mask[i] = True
    cols[name] = pc.replace_with_mask(cols[name], pa.array(mask), pa.array([value], pa.string()))
