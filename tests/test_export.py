"""clv.export.write_csv writes the bytes DuckDB's own COPY writes, streaming, for every kind of cell."""
import duckdb
import numpy as np
import pandas as pd
import pytest

from clv.export import safe_relation, write_csv

TRICKY = ["plain", "with, comma", 'with "quotes"', "line\nbreak", "carriage\rreturn", "", None, "=SUM(A1)",
          "-3", "+1", "@x", "\ttab", "ünïcödé ✓", "日本語", '"', ",", " spaced ", "emoji 😀"]


def frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    pick = rng.integers(0, len(TRICKY), rows)
    return pd.DataFrame({
        "customer_id": pd.Series([f"c{i}" for i in range(rows)], dtype="str"),
        "note": pd.Series([TRICKY[k] for k in pick], dtype=object),
        "text": pd.Series([TRICKY[k] for k in pick[::-1]], dtype="str"),
        "segment": pd.Categorical([["Champions", "At risk, lapsing", 'say "hi"'][k % 3] for k in pick]),
        "orders": rng.integers(0, 50, rows).astype(np.int32),
        "flag": (pick % 2).astype(np.int8),
        "big": rng.integers(-2**62, 2**62, rows),
        "clv": np.where(pick % 7 == 0, np.nan, rng.normal(100, 80, rows)),
        "p_alive": np.where(pick % 11 == 0, np.inf, rng.random(rows)),
        "share": rng.random(rows) * 1e-7,
        "first_order": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**9, rows), unit="s"),
        "next_order_date": pd.Series(pd.to_datetime("2025-02-03") + pd.to_timedelta(pick, unit="D")).where(pick % 5 > 0),
        "ok": pick % 3 == 0,
        "all_null": pd.Series([None] * rows, dtype=object),
    })


@pytest.mark.parametrize("rows,raw", [(0, False), (1, False), (5000, False), (5000, True), (250_001, False)])
def test_write_csv_is_duckdbs_copy_byte_for_byte(tmp_path, rows, raw):
    table = frame(rows)
    con = duckdb.connect()
    ours, theirs = tmp_path / "ours.csv", tmp_path / "theirs.csv"
    write_csv(con, table, ours, raw=raw, batch_rows=4096)
    con.register("t", table)
    safe_relation(con.table("t"), raw=raw).write_csv(str(theirs))
    assert ours.read_bytes() == theirs.read_bytes()
    back = pd.read_csv(ours, keep_default_na=False, dtype=str)
    assert len(back) == rows and list(back.columns) == list(table.columns)
    if rows and not raw:
        assert not back["note"].str.match(r"^[=+@\t-]").any()  # formulas neutralised
