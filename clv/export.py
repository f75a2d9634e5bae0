"""CSV exports a founder can open in a spreadsheet or import into an email tool without surprises."""
from __future__ import annotations

import pandas as pd

__all__ = ["FORMULA_PREFIXES", "neutralise", "to_safe_csv"]

#: a text cell starting with one of these is run as a formula by spreadsheet programs (CSV injection)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """Prefix a text cell that a spreadsheet would run as a formula with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def to_safe_csv(df: pd.DataFrame) -> bytes:
    """CSV bytes (UTF-8) with every text cell neutralised; numbers stay numbers."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    # CRLF (RFC 4180) also makes the writer quote cells holding a lone carriage return
    return out.to_csv(index=False, lineterminator="\r\n").encode("utf-8")
