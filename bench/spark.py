"""score on local Spark against the DuckDB path, and the size of what the fit collects to the driver.

    nice python bench/spark.py                       # 1M and 10M orders (realistic preset) + fit rows at 1M/10M/100M
    nice python bench/spark.py --orders 1000000 --fit-customers 1000000
    nice python bench/spark.py --cluster --orders 10000000 30000000

--cluster runs the Spark engine on a real standalone cluster started on this machine for the run (a master and two
workers of one core each, spark://127.0.0.1:…, clv.spark.standalone) on the orders as a folder of Parquet parts,
and prints the seconds of each stage of score_files (reading and classifying, the customer table, the fit on the
driver, scoring and writing) with the distinct rows the fit read: the figures the README's extrapolation to a
billion orders rests on. Memory there is the driver's side (its Python and JVM); the executors are the workers'.

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
    return {"seconds": time.perf_counter() - t, "peaks": peaks, "total": total, "stderr": err, "stdout": out}


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


_SCORE_ON = """
import json, sys, time
sys.path.insert(0, {root!r})
from clv.spark import score_files, session
from clv.spark.standalone import executor_conf
t = time.perf_counter()
spark = session(sys.argv[1], **executor_conf(cores=1, memory=sys.argv[4], shuffle_partitions=int(sys.argv[5])),
                **{{"spark.driver.memory": "4g"}})
started = time.perf_counter() - t
done = score_files(spark, sys.argv[2], sys.argv[3], model="bgnbd")
spark.stop()
print(json.dumps({{"session": started, "stages": done["stages"], "rows_fitted": done["rows_fitted"],
                  "pairs_fitted": done["pairs_fitted"], "customers": done["customers"]}}))
"""


def cluster(orders: int, workers: int = 2, memory: str = "8g") -> None:
    """score_files on a standalone cluster of ``workers`` one-core workers started for this run."""
    import json

    from clv.spark.standalone import standalone_cluster
    path = export(orders, "realistic")
    lake = as_parquet(path)
    parts = len(list(lake.glob("*.parquet")))
    # a few shuffle partitions per core, each of at most a few million orders
    partitions = max(4 * workers, orders // 2_000_000)
    print(f"{orders:>11,} orders (realistic preset) as {parts} Parquet parts; standalone cluster of {workers} workers "
          f"(1 core, {memory} each), {partitions} shuffle partitions", flush=True)
    t = time.perf_counter()
    with standalone_cluster(workers=workers, cores=1, memory=memory) as master:
        up = time.perf_counter() - t
        executor_memory = f"{int(memory.rstrip('g')) * 1024 * 3 // 4}m"
        r = measure_tree([sys.executable, "-c", _SCORE_ON.format(root=str(ROOT)), master, str(lake),
                          str(BIG / f"spark_cluster_{orders}.parquet"), executor_memory, str(partitions)])
    res = json.loads(r["stdout"].strip().splitlines()[-1])
    print(f"    cluster up {up:.1f} s ({master}); session {res['session']:.1f} s; {res['customers']:,} customers; "
          f"fitted on {res['rows_fitted']:,} distinct (frequency, recency, T) rows and {res['pairs_fitted']:,} "
          f"(frequency, monetary value) pairs", flush=True)
    for name, seconds in res["stages"].items():
        print(f"    {name:<56} {seconds:7.1f} s", flush=True)
    print(f"    total {r['seconds']:.1f} s; driver side peak {r['total']:.0f} MB", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, nargs="*", default=[1_000_000, 10_000_000])
    ap.add_argument("--fit-customers", type=int, nargs="*", default=[1_000_000, 10_000_000, 100_000_000])
    ap.add_argument("--cluster", action="store_true", help="on a standalone cluster started for the run")
    a = ap.parse_args()
    if a.cluster:
        for n in a.orders:
            cluster(n)
        return
    for n in a.fit_customers:
        rows, s = fit_rows(n)
        print(f"{n:>12,} customers -> {rows:>9,} distinct (frequency, recency, T) rows to fit "
              f"({rows * 32 / 1e6:,.1f} MB as 3 numbers + a count; simulated in {s:.0f} s)", flush=True)
    for n in a.orders:
        compare(n)


if __name__ == "__main__":
    main()
