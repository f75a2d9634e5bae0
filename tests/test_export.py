"""clv.export.write_csv writes the bytes DuckDB's own COPY writes, streaming, for every kind of cell."""
import datetime as dt

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


def test_write_table_writes_the_format_its_name_says(tmp_path):
    """.csv and .csv.gz as a spreadsheet opens them (formulas neutralised, money rounded), .parquet with every value
    as computed; any other name is refused before anything is written."""
    import gzip

    from clv.errors import DataError
    from clv.export import write_table
    con = duckdb.connect()
    table = pd.DataFrame({"customer_id": ["=1+1", "b"], "clv": [1.23456, 2.0],
                          "clv_low": np.array([50.100517, 0.5], np.float32),  # the interval bounds are float32
                          "seg": pd.Categorical(["x", "y"]), "when": pd.to_datetime(["2024-01-02", "2024-03-04"])})
    write_table(con, table, tmp_path / "t.parquet")
    back = pd.read_parquet(tmp_path / "t.parquet")
    assert back["customer_id"].tolist() == ["=1+1", "b"] and back["clv"].tolist() == [1.23456, 2.0]
    assert back["seg"].astype(str).tolist() == ["x", "y"] and back["when"].dt.month.tolist() == [1, 3]
    write_table(con, table, tmp_path / "t.csv")
    write_table(con, table, tmp_path / "t.csv.gz")
    assert gzip.decompress((tmp_path / "t.csv.gz").read_bytes()) == (tmp_path / "t.csv").read_bytes()
    csv = pd.read_csv(tmp_path / "t.csv")
    assert csv["customer_id"].tolist() == ["'=1+1", "b"] and csv["clv"].tolist() == [1.23, 2.0]
    assert (tmp_path / "t.csv").read_text().splitlines()[1].split(",")[2] == "50.1"  # money to the cent
    with pytest.raises(DataError, match="does not say which format"):
        write_table(con, table, tmp_path / "t.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv", "t.csv.gz", "t.parquet"]


def test_parquet_dictionary_encodes_text_and_counts_in_row_groups_of_a_slice(tmp_path, monkeypatch):
    """pyarrow writes the Parquet: a dictionary for text and integer columns only (money and probabilities are
    nearly all distinct: a dictionary there is CPU for nothing), a row group per PARQUET_ROW_GROUP rows, and DuckDB
    reads back the values and types its own writer gave — from a table and from an Arrow stream alike."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from clv import export
    monkeypatch.setattr(export, "PARQUET_ROW_GROUP", 1000)
    con = duckdb.connect()
    n = 2500
    rel = con.sql(f"SELECT 'c' || range AS customer_id, (range % 7)::INTEGER AS orders, range * 1.37 AS clv, "
                  f"TIMESTAMP '2024-01-01' + INTERVAL (range) MINUTE AS last_order, "
                  f"CASE WHEN range % 3 = 0 THEN 'Loyal' END AS segment FROM range({n})")
    theirs = tmp_path / "duckdb.parquet"
    rel.write_parquet(str(theirs))
    ours = tmp_path / "ours.parquet"
    export.write_table(con, rel, ours)
    meta = pq.ParquetFile(ours).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [1000, 1000, 500]
    names = [meta.schema.column(j).name for j in range(meta.num_columns)]
    dictionary = {name for j, name in enumerate(names) if "RLE_DICTIONARY" in meta.row_group(0).column(j).encodings
                  or "PLAIN_DICTIONARY" in meta.row_group(0).column(j).encodings}
    assert dictionary == {"customer_id", "orders", "segment"}
    assert pq.read_schema(ours).metadata is None or b"ARROW:schema" not in pq.read_schema(ours).metadata
    for path in (ours, theirs):
        con.execute(f"CREATE OR REPLACE TABLE t_{path.stem} AS SELECT * FROM read_parquet(?)", [str(path)])
    assert con.sql("SELECT * FROM t_ours").types == con.sql("SELECT * FROM t_duckdb").types
    assert con.sql("SELECT count(*) FROM (SELECT * FROM t_ours EXCEPT ALL SELECT * FROM t_duckdb)").fetchall()[0][0] == 0
    assert con.sql("SELECT count(*) FROM t_ours").fetchall()[0][0] == n
    stream = tmp_path / "stream.parquet"
    table = rel.to_arrow_table()
    export.write_table(con, pa.RecordBatchReader.from_batches(table.schema, table.to_batches(300)), stream)
    assert pq.read_table(stream).equals(pq.read_table(ours))


def test_parquet_of_a_type_pyarrow_cannot_write_goes_through_duckdb(tmp_path):
    """An INTERVAL (a pandas timedelta) has no Parquet form in pyarrow: DuckDB's writer takes the table — or the
    stream, nothing of it read yet — and the connection is free afterwards (an open Arrow result used to keep it
    busy)."""
    import pyarrow as pa

    from clv.export import write_table
    con = duckdb.connect()
    write_table(con, pd.DataFrame({"wait": pd.to_timedelta([1, 2], unit="D"), "n": [1, 2]}), tmp_path / "t.parquet")
    assert con.execute("SELECT n, wait FROM read_parquet(?)", [str(tmp_path / "t.parquet")]).fetchall() == [
        (1, dt.timedelta(days=1)), (2, dt.timedelta(days=2))]
    table = con.sql("SELECT INTERVAL (range) DAY AS wait, range AS n FROM range(5)").to_arrow_table()
    write_table(con, pa.RecordBatchReader.from_batches(table.schema, table.to_batches(2)), tmp_path / "s.parquet")
    assert con.execute("SELECT count(*), sum(n) FROM read_parquet(?)", [str(tmp_path / "s.parquet")]).fetchall() == [
        (5, 10)]


def test_a_write_that_fails_midway_leaves_the_previous_file(tmp_path, monkeypatch):
    """Whole or absent: the table goes to a temporary name and is renamed when complete."""
    from clv import export
    con = duckdb.connect()
    out = tmp_path / "scores.csv"
    out.write_text("the previous run's table\n")
    table = pd.DataFrame({"customer_id": [str(i) for i in range(1000)], "clv": np.arange(1000.0)})

    real = export.csv_lines

    def half_then_disk_full(rel):  # the first batch of lines is written, then the disk fills up
        lines = real(rel)

        class Lines:
            columns = lines.columns

            def to_arrow_reader(self, n):
                import pyarrow as pa
                reader = lines.to_arrow_reader(n)

                def batches():
                    yield reader.read_next_batch()
                    reader.close()
                    raise OSError("No space left on device")
                return pa.RecordBatchReader.from_batches(reader.schema, batches())
        return Lines()
    monkeypatch.setattr(export, "csv_lines", half_then_disk_full)
    with pytest.raises(OSError, match="No space"):
        export.write_table(con, table, out, batch_rows=100)
    assert out.read_text() == "the previous run's table\n"
    assert [p.name for p in tmp_path.iterdir()] == ["scores.csv"]  # no partial file left behind


def test_a_long_table_becomes_a_csv_only_when_its_download_is_clicked(monkeypatch):
    """Past ui.common.DEFERRED_DOWNLOAD_ROWS the download button gets a callable (Streamlit runs it on click)
    making the same bytes; a shorter table gets its bytes at once."""
    import streamlit as st

    from clv.export import to_safe_csv
    from ui import common
    given = {}
    monkeypatch.setattr(st, "download_button", lambda label, data, **kw: given.update(data=data, **kw))
    monkeypatch.setattr(common, "DEFERRED_DOWNLOAD_ROWS", 3)
    short = pd.DataFrame({"customer_id": ["=a", "b", "c"], "clv": [1.234, 2.0, 3.5]})
    common.download_csv(short, "short.csv")
    assert given["data"] == to_safe_csv(short) and given["file_name"] == "short.csv"
    long = pd.concat([short, short], ignore_index=True)
    common.download_csv(long, "long.csv")
    assert callable(given["data"]) and given["data"]() == to_safe_csv(long)
