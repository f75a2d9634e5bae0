"""score on local Spark against the DuckDB path, and the size of what the fit collects to the driver.

    nice python bench/spark.py                       # 1M and 10M orders (realistic preset) + fit rows at 1M/10M/100M
    nice python bench/spark.py --orders 1000000 --fit-customers 1000000

Each run is a fresh process; its process tree (the Python driver, Spark's JVM, Spark's Python workers) is
sampled every 0.2 s from /proc, and each kind's peak resident memory is printed (the peak of the sum too).
The fit rows are the distinct (frequency, recency, T) of customers simulated from the realistic preset's BG/NBD
parameters with first purchases spread over two years (clv.simulate.simulate_bgnbd, whole days).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._run import BIG, ROOT, export  # noqa: E402


def _tree(pid: int) -> list[int]:
    """pid and every descendant (from /proc/<pid>/task/*/children)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
    return out


def _kind(pid: int, root: int) -> str | None:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    name = Path(cmd[0].decode(errors="replace")).name
    if pid == root:
        return "python driver"
    if name == "java":
        return "JVM (Spark driver + local executors)"
    if name.startswith("python"):
        return "Python workers (mapInPandas)"
    return None


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def measure_tree(cmd: list[str]) -> dict:
    """Wall time, and peak RSS per kind of process and of their sum, of ``cmd`` run in a fresh process."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peaks: dict[str, float] = {}
    total = 0.0
    while proc.poll() is None:
        now: dict[str, float] = {}
        for pid in _tree(proc.pid):
            kind = _kind(pid, proc.pid)
            if kind:
                now[kind] = now.get(kind, 0.0) + _rss_mb(pid)
        for kind, mb in now.items():
            peaks[kind] = max(peaks.get(kind, 0.0), mb)
        total = max(total, sum(now.values()))
        time.sleep(0.2)
    out, err = proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"{cmd} failed:\n{err[-3000:]}")
    return {"seconds": time.perf_counter() - t, "peaks": peaks, "total": total, "stderr": err}


def as_parquet(path: Path) -> Path:
    """The same orders as a typed Parquet folder (a lake's table), written once by DuckDB."""
    out = path.with_suffix(".parquet")
    if not out.exists():
        import duckdb
        duckdb.sql(f"COPY (SELECT * FROM read_csv('{path}', types={{'customer_id': 'VARCHAR'}})) TO '{out}' "
                   "(FORMAT parquet, PER_THREAD_OUTPUT)")
    return out


def compare(orders: int) -> None:
    path = export(orders, "realistic")
    lake = as_parquet(path)  # Spark reads each CSV file in one task (quoted line breaks): give it Parquet parts
    runs = {"DuckDB: python -m clv score --model bgnbd --churn-model palive":
            [sys.executable, "-m", "clv", "score", "--orders", str(path), "--model", "bgnbd", "--churn-model",
             "palive", "--out", str(BIG / f"spark_bench_duckdb_{orders}.csv")],
            "Spark local[*] on the Parquet copy: score --engine spark --model bgnbd":
            [sys.executable, "-m", "clv", "score", "--engine", "spark", "--orders", str(lake), "--model", "bgnbd",
             "--out", str(BIG / f"spark_bench_{orders}.parquet")]}
    print(f"{orders:>11,} orders (realistic preset, generic CSV {path.stat().st_size / 1e6:,.0f} MB for DuckDB, "
          f"the same as Parquet for Spark)", flush=True)
    for name, cmd in runs.items():
        r = measure_tree(cmd)
        print(f"    {name:<64} {r['seconds']:7.1f} s   peak of all processes {r['total']:6.0f} MB", flush=True)
        for kind, mb in r["peaks"].items():
            print(f"        {kind:<60} peak {mb:6.0f} MB", flush=True)
        fitted = [line for line in r["stderr"].splitlines() if "distinct (frequency" in line or "customers" in line]
        if fitted:
            print(f"        {fitted[-1].strip()}", flush=True)


def fit_rows(customers: int, chunk: int = 2_000_000) -> tuple[int, float]:
    """Distinct (frequency, recency, T) in whole days among ``customers`` simulated customers, and seconds."""
    from clv.simulate import simulate_bgnbd
    p = {"r": 0.8, "alpha": 70.0, "a": 0.8, "b": 2.5}  # data/generate.py PRESETS["realistic"]
    t = time.perf_counter()
    keys = np.zeros(0, np.int64)
    for i, start in enumerate(range(0, customers, chunk)):
        n = min(chunk, customers - start)
        T = np.floor(np.random.default_rng(100 + i).uniform(0, 730, n))
        d = simulate_bgnbd(T, **p, seed=i)
        x, tx = d["frequency"].to_numpy().astype(np.int64), np.floor(d["recency"].to_numpy()).astype(np.int64)
        keys = np.unique(np.concatenate([keys, (x << 42) | (tx << 21) | T.astype(np.int64)]))
    return len(keys), time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, nargs="*", default=[1_000_000, 10_000_000])
    ap.add_argument("--fit-customers", type=int, nargs="*", default=[1_000_000, 10_000_000, 100_000_000])
    a = ap.parse_args()
    for n in a.fit_customers:
        rows, s = fit_rows(n)
        print(f"{n:>12,} customers -> {rows:>9,} distinct (frequency, recency, T) rows to fit "
              f"({rows * 32 / 1e6:,.1f} MB as 3 numbers + a count; simulated in {s:.0f} s)", flush=True)
    for n in a.orders:
        compare(n)


if __name__ == "__main__":
    main()
