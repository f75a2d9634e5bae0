"""`python -m clv score` on 1M orders, alone and with a second `score` running at the same time, with the model
fits capped at one thread (the default, CLV_MODEL_THREADS=1) and uncapped (CLV_MODEL_THREADS=0).

    python bench/threads.py [--orders 1000000]

Prints wall time per run: what one session sees while another session's fits run on the same 2-core machine.
"""
import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _run import ROOT, export  # noqa: E402


def run(path: Path, threads: str, copies: int) -> list[float]:
    env = {**os.environ, "CLV_MODEL_THREADS": threads}
    cmd = [sys.executable, "-m", "clv", "score", "--orders", str(path), "--model", "bgnbd"]
    procs, starts = [], []
    for i in range(copies):
        starts.append(time.perf_counter())
        procs.append(subprocess.Popen(cmd + ["--out", f"/tmp/clv-bench/threads_{i}.csv"], cwd=ROOT, env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    times = []
    for p, t0 in zip(procs, starts):
        p.wait()
        times.append(time.perf_counter() - t0)
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=1_000_000)
    a = ap.parse_args()
    path = export(a.orders)
    for threads, label in (("1", "one thread per fit (default)"), ("0", "uncapped")):
        alone = run(path, threads, 1)[0]
        busy = run(path, threads, 2)
        print(f"{label:30s} alone {alone:6.2f} s   two at once {busy[0]:6.2f} s and {busy[1]:6.2f} s", flush=True)


if __name__ == "__main__":
    main()
