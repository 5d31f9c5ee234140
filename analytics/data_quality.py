"""Data quality: the rows the loads rejected, with file, line, column, value and reason."""

from __future__ import annotations

import pandas as pd

from analytics import _db


def rejects(con, limit: int = 10_000) -> pd.DataFrame:
    """Rows the loads rejected, one row per problem: file, line, column, value, reason
    (the first ``limit``, in file and line order)."""
    return _db.query(con, "rejected_rows", {"limit": int(limit)})
