"""Bounded work per upload: what one file may make the server allocate or unpack, checked before or while it happens.

A 2 KB workbook with one cell in A1 and one in XFD1048576 asks the Excel reader for a 17-billion-cell grid (it
allocates the rectangle between the first and last cell); a 2.6 MB zip of one row repeated unpacks to 1.4 GB. Both
are refused in words before the memory or disk is taken:

- ``excel_geometry`` scans each worksheet's XML as it streams out of the workbook (never the whole sheet in memory)
  for the cells actually present — rows and columns, with or without their ``r`` addresses — and refuses a sheet
  whose rectangle is beyond ``max_excel_cells()``, or whose XML unpacks beyond ``max_unpacked_bytes()``;
- ``Unpacking`` copies archive members through a running count: bytes per upload (nested archives included) and the
  ratio of unpacked to packed bytes, stopped at the first byte past either limit.

Limits come from the environment (``CLV_MAX_EXCEL_CELLS``, ``CLV_MAX_UNPACKED_BYTES``, ``CLV_MAX_UNPACK_RATIO``)
with safe defaults; a refusal names the limit and where it is set, never a server path.
"""
from __future__ import annotations

import os
import re
import zipfile

from ..errors import DataError

__all__ = ["max_excel_cells", "max_unpacked_bytes", "max_unpack_ratio", "excel_geometry", "Unpacking"]

#: below this many unpacked bytes no ratio is too high (a small CSV of repeated rows compresses 100:1 and more)
RATIO_FLOOR = 64 * 2 ** 20
_CHUNK = 4 * 2 ** 20


def max_excel_cells() -> int:
    """The largest rectangle of cells one sheet may span (20 million: 2.5M rows x 8 columns; the 540k-row UCI
    workbook spans 4.3M); the reader allocates every cell of it."""
    return int(os.environ.get("CLV_MAX_EXCEL_CELLS", 20_000_000))


def max_unpacked_bytes() -> int:
    """The most bytes one upload may unpack to (zip members, nested archives and workbook sheets together)."""
    return int(os.environ.get("CLV_MAX_UNPACKED_BYTES", 4 * 2 ** 30))


def max_unpack_ratio() -> float:
    """The most unpacked bytes per packed byte, past RATIO_FLOOR (real exports compress 5-20:1)."""
    return float(os.environ.get("CLV_MAX_UNPACK_RATIO", 200))


def _mb(n: float) -> str:
    return f"{n / 2 ** 20:,.0f} MB"


class Unpacking:
    """The running count of what one upload has unpacked (shared by the archives nested in it)."""

    def __init__(self, upload_name: str):
        self.name, self.total = upload_name, 0

    def count(self, done: int, n: int, packed: int, what: str) -> None:
        """``n`` more bytes unpacked from ``what`` (``done`` of it so far, from ``packed`` bytes in the archive)."""
        self.total += n
        if self.total > max_unpacked_bytes():
            raise DataError(f"{self.name} unpacks to more than {_mb(max_unpacked_bytes())} ({what}); refused before "
                            "it filled the server.",
                            expected="an export under the limit (CLV_MAX_UNPACKED_BYTES, set by whoever runs the "
                                     "server), or its parts uploaded one by one.")
        if done > RATIO_FLOOR and done > max_unpack_ratio() * max(packed, 1):
            raise DataError(f"{what} in {self.name} unpacks to over {max_unpack_ratio():.0f} times its packed size "
                            f"({_mb(done)} from {_mb(packed)} so far): not an export but a compression bomb, or a file "
                            "that repeats the same rows.",
                            expected="an export as the platform wrote it (limit: CLV_MAX_UNPACK_RATIO).")

    def copy(self, zf: zipfile.ZipFile, member: zipfile.ZipInfo, dst) -> None:
        """``member`` of ``zf`` into the open file ``dst``, counted as it streams."""
        done = 0
        with zf.open(member) as src:
            while chunk := src.read(_CHUNK):
                done += len(chunk)
                self.count(done, len(chunk), member.compress_size, member.filename)
                dst.write(chunk)


_ROW = re.compile(rb'<row\b[^>]*?\sr="(\d{1,9})"')
_CELL_COL = re.compile(rb'<c\b[^>]*?\sr="([A-Z]{1,4})\d')


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def excel_geometry(zf: zipfile.ZipFile, upload_name: str, unpacking: Unpacking | None = None) -> dict:
    """{sheet XML member: (rows, columns)} of the rectangle each worksheet's cells span; a DataError for a sheet
    beyond ``max_excel_cells()`` — found before the workbook reader allocates anything."""
    unpacking = unpacking or Unpacking(upload_name)
    out = {}
    for member in zf.infolist():
        name = member.filename
        if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
            continue
        rows = cols = row_tags = 0
        done = 0
        carry = b""
        with zf.open(member) as src:
            while True:
                chunk = src.read(_CHUNK)
                done += len(chunk)
                unpacking.count(done, len(chunk), member.compress_size, f"sheet {name}")
                data = carry + chunk
                cut = data.rfind(b">") + 1 if chunk else len(data)
                part, carry = data[:cut], data[cut:]
                row_tags += part.count(b"<row ") + part.count(b"<row>")
                found = _ROW.findall(part)
                if found:
                    rows = max(rows, max(map(int, found)))
                letters = set(_CELL_COL.findall(part))
                if letters:
                    cols = max(cols, max(_column_number(c) for c in letters))
                cells = part.count(b"<c ") + part.count(b"<c>")
                if cells > sum(1 for _ in _CELL_COL.finditer(part)):
                    # cells without an address follow each other along their row: the widest row bounds them
                    cols = max(cols, max(p.count(b"<c ") + p.count(b"<c>") for p in part.split(b"<row")))
                if not chunk:
                    break
        rows = max(rows, row_tags)
        if rows * cols > max_excel_cells():
            raise DataError(f"A sheet of {upload_name} spans {rows:,} rows x {cols:,} columns ({rows * cols:,} cells), "
                            f"more than the {max_excel_cells():,} this server reads from one sheet.",
                            expected="a workbook whose data sit in one block (delete stray cells far from it), a CSV "
                                     "export, or a higher limit (CLV_MAX_EXCEL_CELLS, set by whoever runs the server).")
        out[name] = (rows, cols)
    return out
