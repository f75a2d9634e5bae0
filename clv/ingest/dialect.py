"""How DuckDB reads the text: one pinned CSV dialect, never guessed into data loss.

The quote and escape are '"', there is no comment character (DuckDB's sniffer can take Shopify's '#1001' order
names for comments and drop those lines), and quoted newlines are read (customers' notes span lines). Rows must
have the header's number of fields; a file with short rows is read again with padding (single-threaded: DuckDB's
parallel reader cannot pad and read quoted newlines at once) and the report says so. When DuckDB still refuses,
Python's csv module finds the real cause: the line, its field count and the header's.
"""
from __future__ import annotations

import csv
import gzip
import io
from contextlib import contextmanager

import duckdb

from ..errors import DataError
from .fields import q
from .sniff import Sniff, first_line

__all__ = ["source", "is_ragged", "diagnose"]


@contextmanager
def source(con: duckdb.DuckDBPyConnection, sn: Sniff, view: str, types: dict | None = None,
           timestamp_format: str | None = None, padded: bool = False):
    """A view over the input for the duration of the block: every column as text, or typed as ``types`` says."""
    try:
        if sn.kind == "parquet":
            rel = con.read_parquet(list(sn.paths), union_by_name=sn.by_name)
            rel = rel.project(", ".join(f"CAST({q(c)} AS VARCHAR) AS {q(c)}" for c in rel.columns))
        else:
            # the compression the bytes say (sniff), not the name: gzip saved under a .csv name was read as text
            params = {"paths": list(sn.paths), "delim": sn.delimiter, "enc": sn.encoding,
                      "compression": "gzip" if sn.compressed else "none"}
            typing = "all_varchar=true"
            if types:  # the pattern applies to TIMESTAMP columns only, not TIMESTAMPTZ
                typing = "types=$types, timestampformat=$tsformat"
                params.update(types=types, tsformat=timestamp_format)
            options = "null_padding=true, parallel=false" if padded else "null_padding=false"
            rel = con.sql(f"SELECT * FROM read_csv($paths, delim=$delim, header=true, {typing}, encoding=$enc, "
                          f"quote='\"', escape='\"', comment='', {options}, union_by_name={str(sn.by_name).lower()}, "
                          "compression=$compression)", params=params)
        rel.create_view(view, replace=True)
        yield
    finally:
        con.execute(f"DROP VIEW IF EXISTS {q(view)}")


def is_ragged(exc: Exception) -> bool:
    """A DuckDB error that padding short rows may cure."""
    text = str(exc)
    return any(s in text for s in ("Expected Number of Columns", "support null_padding", "Error when sniffing"))


def diagnose(sn: Sniff, exc: Exception, what: str) -> DataError:
    """The real cause of a CSV that DuckDB could not read, found with Python's csv module."""
    if sn.kind == "csv":
        for path in sn.paths:
            try:
                raw = gzip.open(path, "rb") if sn.compressed else open(path, "rb")
                with io.TextIOWrapper(raw, encoding="utf-8-sig" if sn.encoding == "utf-8" else sn.encoding,
                                      errors="strict", newline="") as fh:
                    reader = csv.reader(fh, delimiter=sn.delimiter)
                    header = next(reader, [])
                    for row in reader:
                        if len(row) > len(header):
                            return DataError(
                                f"Line {reader.line_num} of the {what} file has {len(row)} fields; the header has "
                                f"{len(header)}.", example=dict(zip(header, row)) or None,
                                expected="every row with the header's columns (a delimiter inside a value needs "
                                         "quotes around the value).")
            except UnicodeDecodeError as err:
                return DataError(f"The {what} file is not valid {sn.encoding} text near byte {err.start:,}: "
                                 "it mixes encodings.", expected="one encoding for the whole file (save it as UTF-8).")
            except (csv.Error, OSError, EOFError) as err:
                return DataError(f"The {what} file could not be read: {first_line(err)}.",
                                 expected="a complete CSV file (was the download cut short?).")
    return DataError(f"The {what} file could not be read: {first_line(exc)}",
                     expected="a complete, readable export with one header row.")
