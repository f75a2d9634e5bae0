"""Reading an Excel workbook of UCI Online Retail's size: python-calamine (what clv uses) vs openpyxl.

    python bench/excel.py [--rows 541909]

Writes the workbook once (/tmp/clv-bench/online_retail_<rows>.xlsx, with DuckDB's Excel writer when present, else
openpyxl), then times: calamine reading every cell; openpyxl (read-only, values only) reading every cell; and
clv's whole load of the workbook (sheet to CSV, then the usual load). openpyxl is a bench-only dependency.
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def workbook(rows: int) -> Path:
    path = Path("/tmp/clv-bench") / f"online_retail_{rows}.xlsx"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    import numpy as np
    import pandas as pd
    rng = np.random.default_rng(0)
    invoices = 536365 + np.arange(rows) // 20
    frame = pd.DataFrame({
        "InvoiceNo": invoices.astype(str), "StockCode": rng.integers(10000, 99999, rows).astype(str),
        "Description": "WHITE HANGING HEART T-LIGHT HOLDER", "Quantity": rng.integers(1, 24, rows),
        "InvoiceDate": pd.Timestamp("2010-12-01 08:26") + pd.to_timedelta(invoices - 536365, unit="m"),
        "UnitPrice": rng.integers(50, 2000, rows) / 100, "CustomerID": (12000 + invoices % 4000).astype(float),
        "Country": "United Kingdom"})
    frame.to_excel(path, index=False, engine="openpyxl")
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=541_909)
    a = ap.parse_args()
    path = workbook(a.rows)
    t = time.perf_counter()
    from python_calamine import CalamineWorkbook
    wb = CalamineWorkbook.from_path(str(path))
    n = sum(len(wb.get_sheet_by_name(s).to_python()) for s in wb.sheet_names)
    cal = time.perf_counter() - t
    t = time.perf_counter()
    import openpyxl
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    m = sum(1 for ws in book.worksheets for _ in ws.iter_rows(values_only=True))
    opx = time.perf_counter() - t
    t = time.perf_counter()
    from clv.store import Shop
    report = Shop().load_orders(path)
    load = time.perf_counter() - t
    print(f"{a.rows:,} rows ({path.stat().st_size / 1e6:.0f} MB .xlsx)")
    print(f"    python-calamine, every cell   {cal:6.2f} s  ({n:,} rows)")
    print(f"    openpyxl read-only, every cell {opx:6.2f} s  ({m:,} rows)  = {opx / cal:.1f}x calamine")
    print(f"    clv load of the workbook       {load:6.2f} s  ({report.kept:,} orders kept)")


if __name__ == "__main__":
    main()
