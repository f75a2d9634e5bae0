"""CSV exports a founder can open in a spreadsheet or import into an email tool without surprises."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DECIMALS", "FORMULA_PREFIXES", "neutralise", "rounded", "to_safe_csv", "safe_relation", "csv_lines", "write_csv",
           "TABLE_FORMATS", "table_format", "write_table", "save_scored_upload", "read_scored"]

#: a text cell starting with one of these is run as a formula by spreadsheet programs (CSV injection)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


#: decimals kept in exported files: money to the cent, probabilities and shares to 4 places, expected purchases
#: to 3; the digits beyond are noise to a founder (58.007999999999996) and cost the CSV writer time on big files
DECIMALS = {
    **dict.fromkeys(["revenue", "aov", "monetary_value", "refund_total", "expected_order_value", "clv",
                     "clv_low", "clv_high", "clv_low_95", "clv_high_95", "value_at_stake", "mean_satisfaction",
                     "mean_rating"], 2),
    **dict.fromkeys(["p_alive", "churn_risk", "churn_risk_purchases", "churn_risk_model", "discount_share"], 4),
    "expected_purchases": 3, "days_to_next_purchase": 1,
    # the LTV cuts (clv/cuts.py)
    **dict.fromkeys(["revenue_per_customer", "revenue_median", "revenue_ci_low", "revenue_ci_high",
                     "projected_clv_per_customer", "cumulative_revenue_per_customer",
                     "cumulative_margin_per_customer"], 2),
    **dict.fromkeys(["share", "repeat_rate"], 4), "median_days_to_second_order": 1,
}


# pandas is imported where a frame is handled, not with the module: `summary` writes a DuckDB relation and never
# needs it (0.3 s of a 10M-order summary's 8.6 s)


def _is_frame(table) -> bool:
    """Whether ``table`` is a pandas DataFrame (without importing pandas: none exists before it is imported)."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(table, pandas.DataFrame)


def rounded(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with the float columns named in ``DECIMALS`` rounded for export (other columns as they are)."""
    import pandas as pd
    return df.assign(**{c: df[c].round(n) for c, n in DECIMALS.items()
                        if c in df.columns and pd.api.types.is_float_dtype(df[c])})


def neutralise(value):
    """Prefix a text cell that a spreadsheet would run as a formula with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def to_safe_csv(df: pd.DataFrame) -> bytes:
    """CSV bytes (UTF-8) with every text cell neutralised; numbers stay numbers (rounded as in ``DECIMALS``)."""
    import pandas as pd
    out = rounded(df)
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    # CRLF (RFC 4180) also makes the writer quote cells holding a lone carriage return
    return out.to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def safe_relation(rel, raw: bool = False):
    """A DuckDB relation ready for a file a founder opens: the ``DECIMALS`` columns rounded and (unless ``raw``)
    every text column neutralised as ``neutralise`` does — in DuckDB, which writes millions of rows far faster than
    pandas and needs no rounded copy of the frame. Column names come from the relation itself, quoted."""
    def q(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'
    cols = []
    for name, kind in zip(rel.columns, rel.types):
        if name in DECIMALS and str(kind) in ("DOUBLE", "FLOAT"):
            cols.append(f"round({q(name)}, {int(DECIMALS[name])}) AS {q(name)}")
        elif raw:
            cols.append(q(name))
        elif str(kind) == "VARCHAR":
            # the first character among FORMULA_PREFIXES: comparisons, not a regular expression (5x faster), nor
            # an IN list (which DuckDB may plan as a join, and COPY then wrote rows out of order)
            first = f"left({q(name)}, 1)"
            test = " OR ".join(f"{first} = {ch}" for ch in ("'='", "'+'", "'-'", "'@'", "chr(9)", "chr(13)"))
            cols.append(f"CASE WHEN {test} THEN chr(39) || {q(name)} ELSE {q(name)} END AS {q(name)}")
        else:
            cols.append(q(name))
    return rel.project(", ".join(cols))


#: DuckDB types whose text never needs quoting in a CSV (no delimiter, quote or line break can appear in it)
_PLAIN_TYPES = ("BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DATE", "TIME", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS",
                "TIMESTAMP_NS", "DECIMAL")


def _csv_field(name: str) -> str:
    """A header cell as DuckDB's CSV writer writes it: quoted (quotes doubled) when it holds , " or a line break."""
    return '"' + name.replace('"', '""') + '"' if any(ch in name for ch in ',"\n\r') or name == "" else name


def csv_lines(rel):
    """The relation as one text column, ``line``: each row as DuckDB's CSV writer writes it (comma-separated, NULL
    as nothing, a text quoted — quotes doubled — when it holds , " or a line break or is empty), ending in a
    newline. Tested byte for byte against DuckDB's own COPY."""
    def q(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'
    cells = []
    for name, kind in zip(rel.columns, rel.types):
        col = q(name)
        if str(kind).split("(")[0] in _PLAIN_TYPES:
            cells.append(f"CAST({col} AS VARCHAR)")
        else:
            text = f"CAST({col} AS VARCHAR)"
            # four substring tests, not one regular expression: 5x faster (0.4 s per two text columns of 3.3M rows)
            needs = " OR ".join(f"contains({text}, {ch})" for ch in ("','", "'\"'", "chr(10)", "chr(13)"))
            cells.append(f"CASE WHEN {text} = '' OR {needs} "
                         f"THEN '\"' || replace({text}, '\"', '\"\"') || '\"' ELSE {text} END")
    return rel.project("concat(" + ", ',', ".join(cells) + ", chr(10)) AS line")


#: what a command that writes a table writes, by the output file's extension
TABLE_FORMATS = {".csv": "CSV", ".csv.gz": "gzip-compressed CSV", ".parquet": "Parquet"}


def table_format(path) -> str:
    """The extension of ``path`` that names its format (a key of ``TABLE_FORMATS``); anything else is refused in
    words before any work is done."""
    from .errors import DataError
    name = str(path).lower()
    for ext in sorted(TABLE_FORMATS, key=len, reverse=True):
        if name.endswith(ext):
            return ext
    raise DataError(f"The output file name {Path(str(path)).name!r} does not say which format to write.",
                    expected="a name ending in " + ", ".join(f"{e} ({k})" for e, k in TABLE_FORMATS.items()) + ".")


def _relation(con, table, name: str):
    if _is_frame(table) or hasattr(table, "read_next_batch"):  # or an Arrow stream (read once)
        con.register(name, table)
        return con.table(name), True
    return table, False


def write_table(con, table, path, raw: bool = False, batch_rows: int = 100_000) -> None:
    """``table`` (a DataFrame, a DuckDB relation or an Arrow RecordBatchReader) written in the format its file name
    says (``table_format``): CSV or .csv.gz as a founder can open it in a spreadsheet (``safe_relation``, streamed
    as ``csv_lines``); Parquet with every value as computed (full precision, text as it is: Parquet is typed and no
    spreadsheet runs its cells). Whole or absent: written under a temporary name beside ``path`` and renamed when complete, so a
    killed run leaves the previous file (or none), never a tidy-looking truncated one."""
    import os
    ext = table_format(path)
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    if ext == ".parquet" and hasattr(table, "read_next_batch"):  # an Arrow stream is written as it comes
        try:
            if not _write_parquet(table, partial):  # nothing read from it yet: DuckDB's writer takes the stream
                rel, _ = _relation(con, table, "_table_out")
                try:
                    rel.write_parquet(str(partial))
                finally:
                    con.unregister("_table_out")
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        return
    rel, registered = _relation(con, table, "_table_out")
    try:
        if ext == ".parquet":  # DuckDB's types, as Arrow
            reader = rel.to_arrow_reader(PARQUET_ROW_GROUP)
            try:
                written = _write_parquet(reader, partial)
            finally:
                reader.close()  # (an open result keeps the connection busy)
            if not written:  # a type only DuckDB's writer has (INTERVAL: a pandas timedelta)
                rel.write_parquet(str(partial))
        else:
            _write_csv_stream(safe_relation(rel, raw=raw), partial, gz=ext == ".csv.gz", batch_rows=batch_rows)
        os.replace(partial, path)
    finally:
        if registered:
            con.unregister("_table_out")
        partial.unlink(missing_ok=True)


#: rows per Parquet row group (a slice of the streamed score)
PARQUET_ROW_GROUP = 500_000


def _write_parquet(reader, path) -> bool:
    """An Arrow stream written as Parquet by pyarrow, a row group per ``PARQUET_ROW_GROUP`` rows: text and integer
    columns dictionary-encoded (codes, segments and counts repeat), the rest plain; snappy, the default of both
    writers. DuckDB's COPY tries a dictionary on every column: on 10M scored customers x 58 columns it took 14.0
    CPU-s against 6.8 here (959 MB against 912), the same values and types read back — the CPU the streamed
    score's slices compete for (bench/scale.py). False, with nothing read or written, when a column's type has no
    Parquet form in pyarrow (an INTERVAL)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    schema = reader.schema
    dictionary = [f.name for f in schema
                  if pa.types.is_integer(f.type) or pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    pending, have = [], 0
    try:  # store_schema=False: no Arrow schema in the file, as DuckDB writes it (a pandas category read back as text)
        writer = pq.ParquetWriter(str(path), schema, use_dictionary=dictionary, store_schema=False)
    except pa.ArrowNotImplementedError:
        return False
    with writer as out:
        for batch in reader:
            pending.append(batch)
            have += batch.num_rows
            if have >= PARQUET_ROW_GROUP:
                out.write_table(pa.Table.from_batches(pending, schema), row_group_size=have)
                pending, have = [], 0
        if have:
            out.write_table(pa.Table.from_batches(pending, schema), row_group_size=have)
    return True


def _write_csv_stream(rel, path, gz: bool = False, batch_rows: int = 100_000) -> None:
    """DuckDB formats the rows (in parallel) as ``csv_lines`` and Python writes them in order as they stream out —
    the bytes DuckDB's COPY writes, in the same time, without COPY's buffer of formatted rows waiting for their turn
    (~500 MB at 3.3M customers x 52 columns: bench/pipeline.py --stages)."""
    import gzip

    import numpy as np
    import pyarrow as pa
    opener = gzip.open if gz else open
    reader = csv_lines(rel).to_arrow_reader(batch_rows)
    try:
        with opener(path, "wb") as out:
            out.write((",".join(_csv_field(c) for c in rel.columns) + "\n").encode("utf-8"))
            for batch in reader:
                lines = batch.column(0)
                if len(lines) == 0:
                    continue
                # the text of consecutive lines is one run of bytes in the Arrow buffer: written as it is
                wide = pa.types.is_large_string(lines.type)
                offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64 if wide else np.int32)
                first, last = offsets[lines.offset], offsets[lines.offset + len(lines)]
                out.write(memoryview(lines.buffers()[2])[first:last])
    finally:
        reader.close()  # a write that failed midway (disk full) leaves no open result on the connection


def write_csv(con, table: pd.DataFrame, path, raw: bool = False, batch_rows: int = 100_000) -> None:
    """``table`` as a CSV file a founder can open (``safe_relation``), whatever ``path`` is named (the benches'
    scratch files); commands use ``write_table``."""
    rel, registered = _relation(con, table, "_csv_out")
    try:
        _write_csv_stream(safe_relation(rel, raw=raw), path, batch_rows=batch_rows)
    finally:
        if registered:
            con.unregister("_csv_out")


def save_scored_upload(upload, name: str, folder: Path) -> None:
    """An uploaded scored table (a file object) into ``folder`` as Parquet parts for ``read_scored``: one .parquet
    as it is, or the Parquet parts of a .zip (Spark's folder zipped) — flattened, no path from the archive used, each
    unpacked through the upload's byte and ratio limits (clv.ingest.limits)."""
    import shutil
    import zipfile

    from .errors import DataError
    from .ingest.limits import Unpacking
    folder = Path(folder)
    if not name.lower().endswith(".zip"):
        with open(folder / "part-00000.parquet", "wb") as dst:
            shutil.copyfileobj(upload, dst)
        return
    unpacking = Unpacking(name)
    try:
        with zipfile.ZipFile(upload) as z:
            parts = [m for m in z.infolist() if m.filename.lower().endswith(".parquet") and not m.is_dir()]
            for i, member in enumerate(parts):
                with open(folder / f"part-{i:05d}.parquet", "wb") as dst:
                    unpacking.copy(z, member, dst)
    except (zipfile.BadZipFile, EOFError):
        raise DataError(f"{name} is damaged or not a zip archive.",
                        expected="the Parquet folder written by score --engine spark, zipped.") from None
    except DataError:
        shutil.rmtree(folder, ignore_errors=True)  # nothing of a refused archive stays on the server
        folder.mkdir()
        raise


def read_scored(path, name: str | None = None) -> pd.DataFrame:
    """A scored table written as Parquet — ``score --out x.parquet`` (one file, written by DuckDB) or ``score
    --engine spark`` (a folder of parts) — as one frame in customer-id order, the columns of
    clv.scoring.score_table. Needs no Spark. ``name``: how messages call the table (default: the path's name; the
    app passes the uploaded file's name, never a server path)."""
    import pandas as pd

    from .errors import DataError
    shown = name or Path(str(path)).name
    expected = "a .parquet file written by python -m clv score --out scores.parquet (or the folder --engine spark writes)."
    try:
        table = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        detail = str(exc).replace(str(path), shown)
        raise DataError(f"{shown} could not be read as a Parquet table ({detail}).", expected=expected) from None
    missing = [c for c in ("customer_id", "p_alive", "clv", "rfm_segment") if c not in table.columns]
    if missing:
        raise DataError(f"{shown} is not a scored table: it has no {', '.join(missing)} column.",
                        column=missing[0], expected=expected)
    for col in table.columns:  # Spark writes instants (UTC); the app's times are UTC wall times
        if isinstance(table[col].dtype, pd.DatetimeTZDtype):
            table[col] = table[col].dt.tz_convert(None)
    return table.sort_values("customer_id", kind="stable", ignore_index=True)
