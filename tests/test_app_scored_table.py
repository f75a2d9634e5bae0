"""Opening a scored table (what `python -m clv score --engine spark` writes) in the app, without raw orders."""
import io
import zipfile

import pytest
from conftest import metric, open_app

from clv.formatting import money


@pytest.fixture(scope="module")
def scored(sample_shop, tmp_path_factory):
    """The sample shop scored as `python -m clv score --out scores.parquet` does, as Parquet bytes and the frame."""
    from clv.scoring import score_table
    from clv.export import write_table
    table = score_table(sample_shop, None, 12, 0.1, 0.4)
    path = tmp_path_factory.mktemp("scored") / "scores.parquet"
    write_table(sample_shop.con, table, path)  # as `score --out scores.parquet` writes it (DuckDB's Parquet)
    return path.read_bytes(), table


def test_a_scored_parquet_gets_the_four_answers(scored):
    data, table = scored
    at = open_app("pages/8_Scored_table.py")
    assert any("No scored table opened yet" in i.value for i in at.info)
    at.file_uploader(key="scored_upload").set_value(("scores.parquet", data, "application/octet-stream")).run()
    assert not at.exception, at.exception
    assert metric(at, "Customers") == f"{len(table):,}"
    assert metric(at, "Projected value") == money(table["clv"].sum())  # no currency said yet: plain numbers
    at.selectbox(key="scored_currency").select("EUR").run()
    assert metric(at, "Revenue so far") == money(table["revenue"].sum(), "EUR")
    assert len(at.get("plotly_chart")) >= 3
    assert [s.value for s in at.subheader] == ["Who are my customers?", "What is each worth? Who is slipping away?",
                                               "What should I do first?"]


def test_a_zipped_spark_folder_opens_and_a_wrong_file_is_refused(scored):
    data, table = scored
    half = len(table) // 2
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:  # a folder of parts as Spark writes it
        for i, part in enumerate((table.iloc[:half], table.iloc[half:])):
            b = io.BytesIO()
            part.to_parquet(b, index=False)
            z.writestr(f"scores.parquet/part-{i:05d}-abc.snappy.parquet", b.getvalue())
        z.writestr("scores.parquet/_SUCCESS", "")
    at = open_app("pages/8_Scored_table.py")
    at.file_uploader(key="scored_upload").set_value(("scores.zip", zbuf.getvalue(), "application/zip")).run()
    assert not at.exception, at.exception
    assert metric(at, "Customers") == f"{len(table):,}"
    other = io.BytesIO()
    table[["customer_id", "revenue"]].to_parquet(other, index=False)
    at.file_uploader(key="scored_upload").set_value(("other.parquet", other.getvalue(), "application/octet-stream")).run()
    assert not at.exception
    assert any("not a scored table" in e.value for e in at.error)
