"""What the user gave us, made readable by DuckDB: one or several files, CSV (any common delimiter, whitespace
columns, gzip), Parquet, Excel (.xlsx/.xls) or a .zip of those.

``open_inputs`` looks at the bytes (never at the name alone), turns what DuckDB cannot read itself into temporary
UTF-8 CSV copies (Excel sheets, cp1252 text, whitespace-aligned columns, files whose dialects differ) and removes
them when the load ends. Every refusal is a DataError that says what the file is and what was expected.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import gzip
import zlib
import io
import os
import re
import shutil
import tempfile
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ..errors import DataError
from .limits import Unpacking, excel_geometry

__all__ = ["Sniff", "sniff", "open_inputs", "first_line"]

_DELIMITERS = [",", ";", "\t", "|"]
_EXPECTED = "a CSV (also .csv.gz or .zip), Excel (.xlsx/.xls) or Parquet export with a header row and data rows."
_DATA_SUFFIXES = (".csv", ".txt", ".tsv", ".gz", ".xlsx", ".xls", ".parquet", ".pq")
#: how far the sniffer reads to find the header and a first row (past it, one huge field is refused in words)
_MAX_SAMPLE = 16 << 20


@dataclass(frozen=True)
class Sniff:
    """How to read the input: the files DuckDB reads (maybe temporary copies) and their shared dialect."""
    paths: tuple
    kind: str                 # "csv" or "parquet"
    encoding: str = "utf-8"   # as DuckDB names it
    delimiter: str = ","
    columns: tuple = ()
    compressed: bool = False
    origin: str = ""          # what the user gave, in words (e.g. "Excel workbook, 2 sheets")
    names: tuple = ()         # the user's file names
    by_name: bool = False     # files share their columns in different orders: matched by name

    @property
    def path(self) -> str:
        return self.paths[0]

    @property
    def description(self) -> str:
        if self.kind == "parquet":
            text = "Parquet"
        else:
            delim = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}.get(self.delimiter, self.delimiter)
            text = f"CSV{' (gzip)' if self.compressed else ''}, {self.encoding}, {delim}-separated"
        if self.origin:
            text = f"{self.origin}; {text}"
        if len(self.names) > 1:
            text += f"; {len(self.names)} files: {', '.join(self.names[:5])}{' …' if len(self.names) > 5 else ''}"
        return text


def first_line(exc: Exception) -> str:
    """The first line of an error, with any file path cut to its name: a server's folders are nobody's business."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return re.sub(r"(?:[A-Za-z]:)?(?:[/\\][^/\\\s'\"]+)+[/\\]([^/\\\s'\"]+)", r"\1", text)[:300]


def sniff(path, con: duckdb.DuckDBPyConnection | None = None) -> Sniff:
    """The columns and dialect of ``path`` (or a list of paths); temporary copies are removed before returning."""
    with open_inputs(path, con) as sn:
        return Sniff(tuple(str(p) for p in _as_list(path)), sn.kind, sn.encoding, sn.delimiter, sn.columns,
                     sn.compressed, sn.origin, sn.names, sn.by_name)


def _as_list(paths) -> list:
    return [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)


@contextmanager
def open_inputs(paths, con: duckdb.DuckDBPyConnection | None = None):
    """Yield a Sniff over ``paths`` (one path or several); temporary copies live until the block ends."""
    con = con or duckdb.connect()
    workdir = Path(tempfile.mkdtemp(prefix="clv-in-"))
    try:
        parts: list[Sniff] = []
        origins: list[str] = []
        for p in _as_list(paths):
            try:
                for sn, origin in _expand(Path(p), workdir, con, Unpacking(Path(p).name)):
                    parts.append(sn)
                    origins.append(origin)
            except (zlib.error, EOFError, gzip.BadGzipFile) as exc:  # a damaged .gz anywhere in the file
                raise DataError(f"The compressed file {Path(p).name} is damaged ({first_line(exc)}); export it "
                                "again or send it uncompressed.", expected=_EXPECTED) from None
        if not parts:
            raise DataError("The archive holds no data file.", expected=_EXPECTED)
        yield _combine(parts, [o for o in origins if o], workdir, con)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


#: archives inside archives read this deep (a zip that holds itself would otherwise never end)
MAX_NESTING = 3


def _expand(p: Path, workdir: Path, con, unpacking: Unpacking, depth: int = 0) -> list[tuple[Sniff, str]]:
    """One user file -> the readable files in it (a zip holds several, a workbook's sheets become CSVs); what it
    unpacks is counted in ``unpacking`` (clv.ingest.limits), nested archives included."""
    if not p.exists():
        raise DataError(f"File not found: {p.name}.")
    if p.stat().st_size == 0:
        raise DataError(f"The file {p.name} is empty (0 bytes).", expected=_EXPECTED)
    with open(p, "rb") as fh:
        head = fh.read(8)
    if head[:4] == b"PAR1":
        return [(_parquet(p, con), "")]
    if head[:4] == b"PK\x03\x04":
        try:
            zf = zipfile.ZipFile(p)
            names = zf.namelist()
        except (zipfile.BadZipFile, OSError) as exc:
            raise DataError(f"The file {p.name} is a damaged zip archive ({first_line(exc)}).", expected=_EXPECTED) from None
        if "xl/workbook.xml" in names:
            excel_geometry(zf, unpacking.name, unpacking)  # before the reader allocates the sheets' rectangles
            return [(_excel(p, workdir), "Excel workbook")]
        if depth >= MAX_NESTING:
            raise DataError(f"{unpacking.name} holds archives nested more than {MAX_NESTING} deep.",
                            expected="the export's files in one .zip (or in zips inside it).")
        out = []
        members = sorted(n for n in names if not n.endswith("/") and "__MACOSX" not in n
                         and n.lower().endswith((*_DATA_SUFFIXES, ".zip")))
        for i, name in enumerate(members):
            target = workdir / f"zip{i}_{Path(name).name}"
            try:
                with open(target, "wb") as dst:
                    unpacking.copy(zf, zf.getinfo(name), dst)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise DataError(f"{name} in {p.name} could not be unpacked ({first_line(exc)}).",
                                expected=_EXPECTED) from None
            except DataError:
                target.unlink(missing_ok=True)  # what was unpacked of a refused member goes at once
                raise
            out += [(sn, f"from {p.name}") for sn, _ in _expand(target, workdir, con, unpacking, depth + 1)]
        return out
    if head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return [(_excel(p, workdir), "Excel 97-2003 workbook")]
    return [(_text(p, workdir, con), "")]


def _parquet(p: Path, con) -> Sniff:
    try:
        rows = con.execute("SELECT sum(num_rows) FROM parquet_file_metadata(?)", [str(p)]).fetchall()[0][0]
        cols = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(p)]).fetchall()]
    except duckdb.Error as exc:
        raise DataError(f"The Parquet file {p.name} could not be read: {first_line(exc)}",
                        expected="a complete Parquet file (was the download or copy cut short?).") from None
    if not rows:
        raise DataError(f"The Parquet file {p.name} has no rows.", expected="at least one order row.")
    return Sniff((str(p),), "parquet", columns=tuple(cols), names=(p.name,))


def _excel_cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return str(v)


def _excel(p: Path, workdir: Path) -> Sniff:
    """Every sheet that has the first sheet's header, as one UTF-8 CSV (python-calamine: Rust, reads .xlsx and
    .xls, several times faster than openpyxl on the 540k-row UCI workbook)."""
    try:
        from python_calamine import CalamineWorkbook
        wb = CalamineWorkbook.from_path(str(p))
        sheets = [(name, wb.get_sheet_by_name(name).to_python(skip_empty_area=True)) for name in wb.sheet_names]
    except ImportError:
        raise DataError("Excel files need the python-calamine package (pip install -r requirements.txt).") from None
    except Exception as exc:  # calamine raises its own error types for damaged workbooks
        raise DataError(f"The Excel file {p.name} could not be read ({first_line(exc)}).",
                        expected="an .xlsx or .xls workbook that Excel opens, or a CSV export.") from None
    sheets = [(n, [r for r in rows if any(c not in (None, "") for c in r)]) for n, rows in sheets]
    sheets = [(n, rows) for n, rows in sheets if rows]
    if not sheets:
        raise DataError(f"The Excel file {p.name} has no data.", expected="a sheet with a header row and data rows.")
    header = [_excel_cell(c).strip() for c in sheets[0][1][0]]
    used = [(n, rows) for n, rows in sheets if [_excel_cell(c).strip() for c in rows[0]] == header]
    out = workdir / f"{p.stem}.xlsx.csv"
    with open(out, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for _, rows in used:
            w.writerows([_excel_cell(c) for c in r] for r in rows[1:])
    if sum(len(rows) - 1 for _, rows in used) == 0:
        raise DataError(f"The Excel file {p.name} has a header but no data rows.", expected="at least one order row.")
    sn = _text(out, workdir, None)
    skipped = [n for n, _ in sheets if n not in {u for u, _ in used}]
    origin = f"sheet{'s' if len(used) > 1 else ''} {', '.join(repr(n) for n, _ in used)}"
    if skipped:
        origin += f" (other columns, not read: {', '.join(repr(n) for n in skipped)})"
    return Sniff(sn.paths, "csv", "utf-8", ",", sn.columns, False, origin, (p.name,))


def _whole_gzip(p: Path) -> None:
    """A gzip file read to its end once: cut short (its end marker missing: rows may be lost) or beyond the
    unpacking limits (clv.ingest.limits), it is refused before anything is loaded."""
    unpacking, done, packed = Unpacking(p.name), 0, p.stat().st_size
    try:
        with gzip.open(p, "rb") as fh:
            while chunk := fh.read(1 << 22):
                done += len(chunk)
                unpacking.count(done, len(chunk), packed, p.name)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"The compressed file {p.name} is damaged or cut short ({first_line(exc)}): rows may be "
                        "missing from it.", expected="the whole export: download or copy it again.") from None


def _text(p: Path, workdir: Path, con) -> Sniff:
    compressed = False
    with open(p, "rb") as fh:
        compressed = fh.read(2) == b"\x1f\x8b"
    if compressed:
        _whole_gzip(p)
    try:
        with (gzip.open(p, "rb") if compressed else open(p, "rb")) as fh:
            sample = fh.read(1 << 16)
            # the header and a first row, however long (a 64 KB window cut a wide header: "no data rows")
            while sample.count(b"\n") < 2 and len(sample) < _MAX_SAMPLE and (more := fh.read(1 << 20)):
                sample += more
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"The file {p.name} could not be read ({first_line(exc)}).", expected=_EXPECTED) from None
    encoding, big_endian = "utf-8", False
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, text = "utf-16", sample.decode("utf-16", errors="ignore")
        big_endian = sample.startswith(codecs.BOM_UTF16_BE)
    else:
        if b"\x00" in sample or sum(b < 9 or 13 < b < 32 for b in sample[:4096]) > 0.01 * min(len(sample), 4096):
            raise DataError(f"The file {p.name} does not look like a CSV file: it contains binary data.",
                            expected=_EXPECTED)
        body = sample[3:] if sample.startswith(codecs.BOM_UTF8) else sample
        cut = body if len(sample) < (1 << 16) else body[: body.rfind(b"\n") + 1 or len(body)]
        try:
            text = cut.decode("utf-8")
        except UnicodeDecodeError as exc:
            if re.search(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}", cut):
                line = cut[: exc.start].count(b"\n") + 1
                raise DataError(f"The file {p.name} mixes two text encodings: most of it is UTF-8, but line {line} "
                                "is not (Latin-1 or Windows). Reading it either way would split customers whose "
                                "names have accents.",
                                expected="one encoding for the whole file: re-export it, or save it as UTF-8.") from None
            # Windows exports: cp1252 puts €, smart quotes and dashes in 0x80-0x9F, where Latin-1 has controls
            encoding = "cp1252" if re.search(rb"[\x80-\x9f]", cut) else "latin-1"
            text = cut.decode(encoding, errors="replace")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise DataError(f"The file {p.name} has no text in it.", expected=_EXPECTED)
    header = lines[0]
    counts = {d: _count_outside_quotes(header, d) for d in _DELIMITERS}
    delimiter = max(counts, key=counts.get)
    if counts[delimiter] == 0:
        if len(header.split()) >= 3 and len(lines) > 1 and len(lines[1].split()) == len(header.split()):
            return _whitespace_columns(p, workdir, encoding, compressed)
        raise DataError(f"Only one column found in {p.name}; the header reads {header[:120]!r}.",
                        expected="columns separated by commas, semicolons, tabs or pipes, "
                                 "with at least a customer, a date and an amount.")
    if len(lines) < 2:
        raise DataError(f"The file {p.name} has a header but no data rows.", expected="at least one order row.")
    read_path, read_encoding, origin = str(p), encoding, ""
    if encoding == "cp1252":  # DuckDB cannot read cp1252: a UTF-8 copy
        read_path = str(_rewrite(p, workdir, "cp1252", compressed))
        read_encoding, compressed, origin = "utf-8", False, "Windows cp1252 text"
    elif encoding == "utf-16" and big_endian:  # DuckDB reads UTF-16 little-endian only: BE became mojibake
        read_path = str(_rewrite(p, workdir, "utf-16", compressed))
        read_encoding, compressed, origin = "utf-8", False, "UTF-16 big-endian text"
    # Windows and Unix line ends in one file (two exports pasted together, an edit in another editor): DuckDB's
    # sniffer refuses it. A copy with one kind of line end is read instead (quoted line breaks become \n)
    mixed = bool(re.search(rb"\r\n", sample) and re.search(rb"(?<!\r)\n", sample)) \
        or (not compressed and _mixed_later(p, crlf=b"\r\n" in sample))
    try:
        if mixed:
            raise DataError("mixed line ends")
        columns = _columns(con or duckdb.connect(), read_path, delimiter, read_encoding, p.name, compressed)
    except DataError:
        if read_path != str(p) and not mixed:
            raise
        read_path = str(_rewrite(p, workdir, encoding, compressed, universal=True))
        read_encoding, compressed = "utf-8", False
        origin = ", ".join(o for o in (origin, "Windows and Unix line ends mixed") if o)
        columns = _columns(con or duckdb.connect(), read_path, delimiter, read_encoding, p.name, compressed)
    return Sniff((read_path,), "csv", read_encoding, delimiter, columns, compressed, origin, names=(p.name,))


def _mixed_later(p: Path, crlf: bool) -> bool:
    """Whether the file's other lines end the other way (\r\n among \n or the reverse): one pass over the bytes
    (a \r\n file: counts, about 1 s a GB), so a file pasted together from two exports is read, not refused mid-way."""
    last = b""
    if not crlf:  # a \r anywhere is rare: looked for byte by byte (memchr: 0.13 s at 500 MB; 0.6 s for \r\n)
        with open(p, "rb") as fh:  # (read in chunks, not mapped: a mapped file's pages count as the process's memory)
            while chunk := fh.read(1 << 24):
                if (b"\r" in chunk or last == b"\r") and b"\r\n" in last + chunk:
                    return True
                last = chunk[-1:]
        return False
    with open(p, "rb") as fh:
        while chunk := fh.read(1 << 24):
            chunk = last + chunk
            body, last = chunk[:-1], chunk[-1:]  # a \r\n cut between two chunks is seen in the next
            if body.count(b"\n") != body.count(b"\r\n") + body.startswith(b"\n"):
                return True
    return False


def _count_outside_quotes(line: str, ch: str) -> int:
    n, quoted = 0, False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c == ch and not quoted:
            n += 1
    return n


def _columns(con, path: str, delimiter: str, encoding: str, name: str, compressed: bool = False) -> tuple:
    try:
        return tuple(r[0] for r in con.execute(
            "DESCRIBE SELECT * FROM read_csv(?, delim=?, header=true, all_varchar=true, encoding=?, quote='\"', "
            "escape='\"', comment='', null_padding=true, parallel=false, compression=?)",
            [path, delimiter, encoding, "gzip" if compressed else "none"]).fetchall())
    except duckdb.Error as exc:
        raise DataError(f"The file {name} could not be read as CSV: {first_line(exc)}",
                        expected=_EXPECTED) from None


def _open_text(p: Path, encoding: str, compressed: bool, universal: bool = False):
    raw = gzip.open(p, "rb") if compressed else open(p, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8-sig" if encoding == "utf-8" else encoding, errors="replace",
                            newline=None if universal else "")


def _rewrite(p: Path, workdir: Path, encoding: str, compressed: bool, universal: bool = False) -> Path:
    """A UTF-8 copy of a text file (streamed: cp1252 is read through Python's codec, DuckDB has none);
    ``universal``: every line end (\r\n, \r) written as \n."""
    out = workdir / f"{p.name}.{'lf' if universal else 'utf8'}.csv"
    with _open_text(p, encoding, compressed, universal) as src, open(out, "w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(1 << 22):
            dst.write(chunk)
    return out


def _whitespace_columns(p: Path, workdir: Path, encoding: str, compressed: bool) -> Sniff:
    """Columns aligned with spaces (CDNOW's transaction log): rewritten as a comma-separated copy."""
    out = workdir / f"{p.name}.csv"
    with _open_text(p, encoding, compressed) as src, open(out, "w", encoding="utf-8", newline="") as dst:
        w = csv.writer(dst)
        w.writerows(fields for fields in (line.split() for line in src) if fields)
    sn = _text(out, workdir, None)
    return Sniff(sn.paths, "csv", "utf-8", ",", sn.columns, False, "columns separated by spaces", (p.name,))


def _combine(parts: list[Sniff], origins: list[str], workdir: Path, con) -> Sniff:
    """Several files read as one: the same columns (in any order), one dialect (odd ones rewritten as UTF-8)."""
    names = tuple(n for s in parts for n in s.names)
    first = parts[0]
    if len(parts) == 1:
        return Sniff(first.paths, first.kind, first.encoding, first.delimiter, first.columns, first.compressed,
                     "; ".join(dict.fromkeys(o for o in [first.origin, *origins] if o)), names)
    kinds = {s.kind for s in parts}
    if len(kinds) > 1:
        raise DataError(f"The files mix Parquet and text files ({', '.join(names)}).",
                        expected="files of one kind: all CSV/Excel or all Parquet.")
    for s in parts[1:]:
        if set(s.columns) != set(first.columns):
            missing = [c for c in first.columns if c not in s.columns]
            extra = [c for c in s.columns if c not in first.columns]
            raise DataError(f"{s.names[0]} does not have the same columns as {first.names[0]}"
                            f"{': missing ' + ', '.join(missing[:5]) if missing else ''}"
                            f"{'; extra ' + ', '.join(extra[:5]) if extra else ''}.",
                            expected="parts of one export (e.g. orders_export_1.csv, orders_export_2.csv).")
    by_name = any(s.columns != first.columns for s in parts)
    if first.kind == "parquet":
        return Sniff(tuple(p for s in parts for p in s.paths), "parquet", columns=first.columns, names=names,
                     by_name=by_name, origin="; ".join(dict.fromkeys(origins)))
    dialect = (first.encoding, first.delimiter, first.compressed)
    paths = []
    for s in parts:
        if (s.encoding, s.delimiter, s.compressed) == dialect:
            paths.append(s.path)
        else:  # a part written differently: a UTF-8 copy with the first part's delimiter
            out = workdir / f"part{len(paths)}.csv"
            with _open_text(Path(s.path), s.encoding, s.compressed) as src, \
                    open(out, "w", encoding="utf-8" if first.encoding == "utf-8" else first.encoding,
                         newline="", errors="replace") as dst:
                w = csv.writer(dst, delimiter=first.delimiter)
                w.writerows(csv.reader(src, delimiter=s.delimiter))
            if first.compressed:
                raise DataError("Mixing gzip and plain files with different layouts is not supported.",
                                expected="files exported the same way.")
            paths.append(str(out))
    return Sniff(tuple(paths), "csv", first.encoding, first.delimiter, first.columns, first.compressed,
                 "; ".join(dict.fromkeys(origins)), names, by_name)
