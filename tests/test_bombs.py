"""Bounded work per upload (clv.ingest.limits): workbooks whose cells span a huge rectangle, archives that unpack far
beyond their size, nested archives and zipped Parquet are refused in words, within a memory ceiling measured in a
child process (each would otherwise take the server down for every user: a 1.6 KB workbook made the Excel reader
abort on a 512 GiB allocation)."""
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from clv.errors import DataError
from clv.ingest import limits, sniff

ROOT = Path(__file__).resolve().parent.parent
#: what a refused bomb may add to a fresh process's peak memory (MB): the refusal reads a few MB at a time
CEILING_MB = 150


def _xlsx(path: Path, sheet_rows: str) -> Path:
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
        'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="Orders" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.'
        'org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
        'openxmlformats.org/spreadsheetml/2006/main"><sheetData>' + sheet_rows + "</sheetData></worksheet>",
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return path


def _cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


HEADER = '<row r="1">' + _cell("A1", "customer_id") + _cell("B1", "order_date") + _cell("C1", "amount") + "</row>"
ROW = '<row r="2">' + _cell("A2", "a") + _cell("B2", "2024-01-01") + '<c r="C2"><v>10</v></c></row>'


def _refused_in_a_child(path: Path, env: dict | None = None) -> dict:
    """sniff(path) in a fresh process with a 4 GB address-space cap: the message and the peak memory it added."""
    code = (
        "import json, resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))\n"
        "from clv.errors import DataError\nfrom clv.ingest import sniff\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n    sniff(sys.argv[1]); out = {'refused': None}\n"
        "except DataError as exc:\n    out = {'refused': str(exc)}\n"
        "out['added_mb'] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024\n"
        "print(json.dumps(out))\n")
    r = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=ROOT,
                       env={**__import__("os").environ, **(env or {})}, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_a_workbook_that_is_fine_still_reads(tmp_path):
    assert sniff(_xlsx(tmp_path / "ok.xlsx", HEADER + ROW)).columns == ("customer_id", "order_date", "amount")


@pytest.mark.parametrize("far", [
    '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>',             # a cell in the last row and column
    '<row r="1048576">' + "<c><v>1</v></c>" * 30 + "</row>",              # cells without addresses, far down
])
def test_a_workbook_spanning_a_huge_rectangle_is_refused_before_it_is_read(tmp_path, far):
    bomb = _xlsx(tmp_path / "bomb.xlsx", HEADER + ROW + far)
    assert bomb.stat().st_size < 3_000
    out = _refused_in_a_child(bomb)
    assert out["refused"] and "1,048,576 rows" in out["refused"] and "CLV_MAX_EXCEL_CELLS" in out["refused"]
    assert str(tmp_path) not in out["refused"]  # no server path in what the user reads
    assert out["added_mb"] < CEILING_MB, out


def _bomb_zip(path: Path, inner_mb: int, nested: bool = False) -> Path:
    row = b"a,2024-01-01,10\n"
    data = b"customer_id,order_date,amount\n" + row * (inner_mb * 2 ** 20 // len(row))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("orders.csv", data)
    if nested:
        outer = io.BytesIO()
        with zipfile.ZipFile(outer, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("parts.zip", buf.getvalue())
        buf = outer
    path.write_bytes(buf.getvalue())
    return path


def test_an_archive_beyond_the_ratio_is_refused_while_it_streams(tmp_path):
    bomb = _bomb_zip(tmp_path / "orders.zip", 80)  # 80 MB of one row, packed about 1000:1
    out = _refused_in_a_child(bomb)
    assert out["refused"] and "compression bomb" in out["refused"] and "CLV_MAX_UNPACK_RATIO" in out["refused"]
    assert out["added_mb"] < CEILING_MB, out
    assert str(tmp_path) not in out["refused"]


@pytest.mark.parametrize("nested", [False, True])
def test_the_unpacked_total_is_capped_nested_archives_included(tmp_path, monkeypatch, nested):
    monkeypatch.setenv("CLV_MAX_UNPACKED_BYTES", str(2 * 2 ** 20))
    monkeypatch.setattr(limits, "RATIO_FLOOR", 10 ** 12)  # this test is about the total, not the ratio
    with pytest.raises(DataError, match="unpacks to more than 2 MB") as err:
        sniff(_bomb_zip(tmp_path / "orders.zip", 3, nested=nested))
    assert "CLV_MAX_UNPACKED_BYTES" in str(err.value)


def test_a_zipped_scored_table_is_unpacked_within_the_limits(tmp_path, monkeypatch):
    """The scored-table page's zip goes through the same limits, and nothing of a refused archive stays."""
    from clv.export import save_scored_upload
    monkeypatch.setattr(limits, "RATIO_FLOOR", 2 ** 20)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("scores.parquet/part-00000.parquet", b"\0" * (8 * 2 ** 20))
    folder = tmp_path / "scored"
    folder.mkdir()
    with pytest.raises(DataError, match="compression bomb"):
        save_scored_upload(io.BytesIO(buf.getvalue()), "scores.zip", folder)
    assert list(folder.iterdir()) == []


def test_a_zip_of_zips_reads_and_nesting_is_bounded(tmp_path):
    inner = _bomb_zip(tmp_path / "inner.zip", 1)
    for depth in range(1, 4):
        outer = io.BytesIO()
        with zipfile.ZipFile(outer, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(f"level{depth}.zip", inner.read_bytes())
        inner = tmp_path / f"outer{depth}.zip"
        inner.write_bytes(outer.getvalue())
        if depth < 3:
            assert sniff(inner).columns == ("customer_id", "order_date", "amount")
    with pytest.raises(DataError, match="nested more than 3 deep"):
        sniff(inner)


def test_the_app_and_the_cli_refuse_the_workbook_bomb_in_words(tmp_path):
    from conftest import open_app
    bomb = _xlsx(tmp_path / "bomb.xlsx", HEADER + ROW + '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')
    at = open_app("pages/1_Data.py")
    at.file_uploader(key="orders").set_value(("bomb.xlsx", bomb.read_bytes(), "application/octet-stream")).run()
    assert not at.exception
    assert any("1,048,576 rows" in e.value for e in at.error), [e.value for e in at.error]
    r = subprocess.run([sys.executable, "-m", "clv", "summary", "--orders", str(bomb), "--out", str(tmp_path / "c.csv")],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 2 and "1,048,576 rows" in r.stderr and "Traceback" not in r.stderr
