"""Hostile files: a seeded corpus of broken, huge, strange and malicious order files run through the loader and the
CLI. Every case must end in a customer table that reconciles with the validation report, or in a clear refusal
(DataError; exit status 2 from the CLI) — never another exception, a traceback or a hang.

CLV_FUZZ_CASES sets the number of cases (default 81 here, three of each kind, to keep the suite under ten minutes; a
nightly-style run asks for 1,000 or more). Bombs (a workbook spanning a huge rectangle, an archive unpacking beyond
the limit, archives nested too deep) run with the limits lowered (LIMITS), and the whole run must stay within
MEMORY_CEILING_MB of the process's peak memory:
    CLV_FUZZ_CASES=2000 python -m pytest tests/test_fuzz.py
Each case is rebuilt from its number alone, so a failure names the case to replay (``case(n)``).
"""
import gzip
import io
import os
import random
import signal
import zipfile

import pytest

from clv.cli import main
from clv.errors import DataError
from clv.store import Shop

CASES = int(os.environ.get("CLV_FUZZ_CASES", "81"))
#: what the whole fuzz run may add to the test process's peak memory (MB): bombs are refused while they stream
MEMORY_CEILING_MB = 600
#: limits lowered for the run, so a bomb is small to build and still beyond them (clv.ingest.limits)
LIMITS = {"CLV_MAX_UNPACKED_BYTES": str(8 * 2 ** 20), "CLV_MAX_EXCEL_CELLS": "2000000"}
SECONDS_PER_CASE = 60

IDS = ["alice@example.com", "BOB@EXAMPLE.COM", "c-1", "=cmd|' /c calc'!A0", "+SUM(1,2)", "@import", "-1+1",
       "<script>alert(1)</script>", "![x](http://host/p.png)", "[a](javascript:alert(1))", "é漢字🙂", "a\tb",
       "'quoted'", '"dq"', "x" * 300, "0", " ", "NULL", "None", "NaN"]
DATES = ["2024-01-05", "2024-03-31T23:30:00Z", "05/03/2024", "2024-02-30", "1900-01-01", "2099-12-31",
         "0000-00-00", "1712345678", "yesterday", "", "2024-06-01 25:61:00", "31.12.2023"]
AMOUNTS = ["10", "12.50", "-3.25", "0", "1e308", "-1e308", "NaN", "inf", "", "1,234.50", "1.234,50", "$5",
           "(7.00)", "9" * 40, "0x1F", "12.5.6"]
STATUSES = ["paid", "refunded", "cancelled", "pending", "Bezahlt", "annulé", "", "=HYPERLINK(\"http://x\")"]
PRODUCTS = ["Tee", "=HYPERLINK(\"http://evil\",\"click\")", "<img src=x onerror=alert(1)>", "line\nbreak",
            "comma, inside", 'quote " inside']


def _csv_field(v: str) -> str:
    return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\n\r') else v


def _base(rng: random.Random, rows: int) -> list[list[str]]:
    header = ["customer_id", "order_date", "amount", "status", "product"]
    body = [[rng.choice(IDS), rng.choice(DATES), rng.choice(AMOUNTS), rng.choice(STATUSES), rng.choice(PRODUCTS)]
            for _ in range(rows)]
    return [header] + body


def _text(table) -> str:
    return "\n".join(",".join(_csv_field(v) for v in row) for row in table) + "\n"


def _zip(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(name, data)
    return buf.getvalue()


def case(n: int) -> tuple[str, bytes, str]:
    """(file name, bytes, what kind of hostility) of case ``n``."""
    rng = random.Random(n)
    table = _base(rng, rng.randint(1, 40))
    text = _text(table)
    kind = ["plain", "encoding", "nul", "truncated", "ragged", "quoted_newlines", "wide", "huge_field",
            "duplicate_headers", "gzip_corrupt", "gzip_truncated", "parquet_corrupt", "xlsx_corrupt", "zip_corrupt",
            "zip_ok", "bom_utf16", "only_header", "empty", "binary", "mixed_encoding", "semicolon", "crlf_cr",
            "xlsx_geometry", "zip_bomb", "nested_zips", "parquet_in_zip", "hostile_name",
            ][n % KINDS]
    name = "orders.csv"
    if kind == "plain":
        data = text.encode()
    elif kind == "encoding":
        data = text.encode(rng.choice(["latin-1", "cp1252", "utf-16"]), errors="replace")
    elif kind == "nul":
        b = bytearray(text.encode())
        for _ in range(rng.randint(1, 5)):
            b.insert(rng.randrange(len(b) + 1), 0)
        data = bytes(b)
    elif kind == "truncated":
        b = text.encode()
        data = b[:rng.randrange(1, len(b) + 1)]
    elif kind == "ragged":
        for row in table[1:]:
            if rng.random() < 0.4:
                del row[rng.randrange(len(row)):]
            elif rng.random() < 0.3:
                row.extend(["extra"] * rng.randint(1, 3))
        data = _text(table).encode()
    elif kind == "quoted_newlines":
        for row in table[1:]:
            row[4] = "note\nwith\r\nlines, and \"quotes\""
        data = _text(table).encode()
    elif kind == "wide":
        extra = [f"col{i}" for i in range(5000)]
        data = _text([table[0] + extra] + [r + ["x"] * 5000 for r in table[1:3]]).encode()
    elif kind == "huge_field":
        table[1][4] = "y" * 5_000_000
        data = _text(table).encode()
    elif kind == "duplicate_headers":
        table[0][rng.randrange(1, 5)] = "customer_id"
        data = _text(table).encode()
    elif kind == "gzip_corrupt":
        name, data = "orders.csv.gz", gzip.compress(text.encode(), mtime=0)[:10] + rng.randbytes(50)
    elif kind == "gzip_truncated":
        g = gzip.compress(text.encode(), mtime=0)
        name, data = "orders.csv.gz", g[:max(12, len(g) // 2)]
    elif kind == "parquet_corrupt":
        name, data = "orders.parquet", b"PAR1" + rng.randbytes(200) + b"PAR1"
    elif kind == "xlsx_corrupt":
        name, data = "orders.xlsx", _zip("xl/workbook.xml", b"<workbook>not really")
    elif kind == "zip_corrupt":
        z = _zip("orders.csv", text.encode())
        name, data = "orders.zip", z[:len(z) // 2]
    elif kind == "zip_ok":
        name, data = "orders.zip", _zip("orders.csv", text.encode())
    elif kind == "bom_utf16":
        data = text.encode("utf-16")
    elif kind == "only_header":
        data = _text(table[:1]).encode()
    elif kind == "empty":
        data = b""
    elif kind == "binary":
        data = rng.randbytes(rng.randint(1, 2000))
    elif kind == "mixed_encoding":
        data = text.encode() + "é,2024-01-01,5,paid,Tee\n".encode("latin-1")
    elif kind == "semicolon":
        data = text.replace(",", ";").encode()
    elif kind == "crlf_cr":
        data = text.replace("\n", rng.choice(["\r\n", "\r"])).encode()
    elif kind == "xlsx_geometry":  # two cells, one far away: the reader would allocate the rectangle between
        far = rng.choice(["XFD1048576", "ZZ9999999", "A1048576", "CV99999"])
        name, data = "orders.xlsx", _workbook(rng, far)
    elif kind == "zip_bomb":  # one row repeated: unpacks far beyond its size and beyond the (lowered) limit
        name, data = "orders.zip", _zip("orders.csv", text.encode() + b"a,2024-01-05,10,paid,Tee\n" * 500_000)
    elif kind == "nested_zips":  # archives inside archives, 1 to 5 deep (3 are read)
        data = text.encode()
        inner = "orders.csv"
        for depth in range(rng.randint(1, 5)):
            data, inner = _zip(inner, data), f"level{depth}.zip"
        name = "orders.zip"
    elif kind == "parquet_in_zip":
        import pandas as pd
        buf = io.BytesIO()
        pd.DataFrame(table[1:], columns=table[0]).to_parquet(buf)
        name, data = "orders.zip", _zip("orders.parquet", buf.getvalue())
    else:  # hostile_name: a file name that is markup, a path or a right-to-left override
        name = rng.choice(["![x](https:host.example\\p.png).csv", "<img src=x onerror=alert(1)>.csv",
                           "..%2F..%2Fetc%2Fpasswd.csv", "orders\u202eVSC.csv", ":warning: :red[orders].csv",
                           "[click](javascript:alert(1)).csv"])  # ("/" cannot be in a name)
        data = text.encode()
    return name, data, kind


KINDS = 27


def _workbook(rng: random.Random, far: str) -> bytes:
    from test_bombs import HEADER, ROW, _cell, _xlsx
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as d:
        far_row = "".join(ch for ch in far if ch.isdigit())
        return _xlsx(Path(d) / "w.xlsx", HEADER + ROW + f'<row r="{far_row}">' + _cell(far, "x") + "</row>"
                     ).read_bytes()


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang(f"no answer in {SECONDS_PER_CASE} s")


def _reconciles(shop: Shop) -> None:
    rep = shop.orders_report
    kept, customers, buyers = shop.con.execute(
        "SELECT count(*), count(DISTINCT customer_id), count(DISTINCT customer_id) FILTER (WHERE is_purchase) "
        "FROM orders").fetchone()
    excluded = sum(v["count"] for v in rep.excluded.values())
    assert rep.kept == kept and rep.customers == customers, (rep.kept, rep.customers, kept, customers)
    assert rep.records_built == rep.kept + excluded, (rep.records_built, rep.kept, excluded)
    # the customer table: everyone with a purchase (a customer with only refunded or cancelled orders has none)
    assert len(shop.customers()) == buyers, (len(shop.customers()), buyers)


@pytest.fixture(autouse=True)
def _lowered_limits(monkeypatch):
    for k, v in LIMITS.items():
        monkeypatch.setenv(k, v)


def _peak_mb() -> float:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("chunk", range(8))
def test_hostile_files_load_or_are_refused(chunk, tmp_path):
    failures = []
    start = _peak_mb()
    old = signal.signal(signal.SIGALRM, _alarm)
    try:
        for n in range(chunk, CASES, 8):
            name, data, kind = case(n)
            path = tmp_path / f"{n}-{name}"
            path.write_bytes(data)
            signal.alarm(SECONDS_PER_CASE)
            try:
                shop = Shop()
                shop.load_orders(path)
                _reconciles(shop)
            except DataError as exc:
                if len(str(exc)) < 20:
                    failures.append((n, kind, f"refusal without a reason: {exc!r}"))
            except Exception as exc:  # noqa: BLE001 — every other outcome is a bug to report
                failures.append((n, kind, f"{type(exc).__name__}: {str(exc)[:300]}"))
            finally:
                signal.alarm(0)
    finally:
        signal.signal(signal.SIGALRM, old)
    assert not failures, failures
    assert _peak_mb() - start < MEMORY_CEILING_MB, f"the run raised peak memory by {_peak_mb() - start:,.0f} MB"


@pytest.mark.parametrize("n", range(KINDS))
def test_hostile_files_through_the_cli(n, tmp_path, capsys):
    """The CLI on the first cases (one of each kind): exit 0 with a file written, or exit 2 with a message that
    names no server path."""
    name, data, kind = case(n)
    path = tmp_path / name
    path.write_bytes(data)
    out = tmp_path / "customers.csv"
    code = main(["summary", "--orders", str(path), "--out", str(out)])
    err = capsys.readouterr().err
    assert code in (0, 2), (n, kind, code)
    if code == 0:
        assert out.exists()
        text = out.read_text(encoding="utf-8")
        # nothing a spreadsheet would run: text cells starting with = + - @ carry a leading apostrophe
        assert not any(line.startswith(("=", "+", "-", "@")) for line in text.splitlines()[1:]), (n, kind)
    else:
        assert err.startswith("error: ") and len(err) > 30, (n, kind, err)
        assert str(tmp_path) not in err, (n, kind, err)
