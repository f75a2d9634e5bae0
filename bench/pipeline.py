"""`python -m clv score` end to end on 1M- and 10M-order exports, next to DuckDB's bare per-customer aggregate
query on the same file, in the same run.

    python bench/pipeline.py [--orders 1000000 10000000]

score = read and validate the export, customer table, BG/NBD + Gamma-Gamma fit, 12-month CLTV, P(alive) churn
risk (no interactions file here), RFM + KMeans (k by silhouette) + behavioural segments, CSV out.
Target: <= 2.5x the bare query at 10M orders, peak memory < 2 GB. Also timed: the floor of any score on these
models (bench/_score_floor.py: the customer table from one fused query straight from the CSV, without reading the
file safely, then the same models, segments and CSV).

    python bench/pipeline.py --stages [--orders 10000000]

times each step of `score` in one fresh process instead (where the time goes).

    python bench/pipeline.py --preset realistic --peer-env /tmp/lt [--orders 1000000 10000000]

the shape where customers are many (about 3 orders per customer, BG/NBD-simulated): `score --model bgnbd` (the
model the peer fits) and `score` as shipped (--model auto backtests all three purchase models first), next to
the pipeline a user would otherwise write with pandas + lifetimes (bench/peer_pipeline.py, in lifetimes' own
virtual environment), each in a fresh process, from the same file in the same run. --peer-env DIR makes that
environment if it is missing and upgrades lifetimes, pandas, numpy and scipy to their current releases first (no
pins: the peer as a user installs it today); the versions are printed. (--peer-python PYTHON runs a Python as it is.)
Targets (issue 28): score with its defaults at least 5x faster than the peer at 10M such orders, at least 2x at 1M.
"""
import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _run import BARE_AGGREGATE, export, measure, rows_in  # noqa: E402


def stages_of(path: str) -> None:
    """The steps of `python -m clv score` (see clv/cli.py and clv/scoring.py), each timed, with the peak memory."""
    t = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal t
        now = int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() / 2 ** 20
        print(f"    {step:<38} {time.perf_counter() - t:6.2f} s  peak so far "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:6.0f} MB, now {now:6.0f} MB", flush=True)
        t = time.perf_counter()

    from clv.export import write_table
    from clv.pipeline import Pipeline, Settings
    from clv.store import Shop, release_memory
    lap("imports")
    shop = Shop(memory_limit="1GB")  # the CLI's default
    shop.load_orders(path)
    lap("load and validate the orders")
    # the steps of score_table (clv/scoring.py), as `score --model bgnbd --churn-model palive` runs them, each timed
    # by the pipeline itself
    run = Pipeline(shop, Settings(purchase_model="bgnbd", churn_model="palive", tabulate_months=12),
                   on_step=lambda name, seconds: lap(f"step {name}"))
    run.get("customers")
    run.get("churn_model")
    shop.offload()
    lap("orders to the temp folder")
    table = run.get("scored")
    del run  # as when score_table returns
    release_memory()
    lap("what score_table held, released")
    write_table(shop.con, table, "/tmp/clv-bench/stages.csv")  # as cmd_score in clv/cli.py
    lap(f"CSV out ({table.shape[1]} columns)")


def against_peer(n: int, preset: str, peer_python: str) -> None:
    path = export(n, preset)
    out = Path("/tmp/clv-bench")
    runs = {"python -m clv score --model bgnbd": [sys.executable, "-m", "clv", "score", "--orders", str(path),
                                                 "--model", "bgnbd", "--out", str(out / f"scores_bg_{preset}_{n}.csv")],
            "python -m clv score (model by backtest)": [sys.executable, "-m", "clv", "score", "--orders", str(path),
                                                        "--out", str(out / f"scores_{preset}_{n}.csv")],
            "pandas + lifetimes (bench/peer_pipeline.py)": [peer_python, str(Path(__file__).parent / "peer_pipeline.py"),
                                                           str(path), str(out / f"peer_{preset}_{n}.csv")]}
    res = {name: measure(cmd) for name, cmd in runs.items()}
    peer = res["pandas + lifetimes (bench/peer_pipeline.py)"]
    print(f"{rows_in(path):>11,} orders ({preset}), {rows_in(out / f'scores_bg_{preset}_{n}.csv'):,} customers scored")
    for name, r in res.items():
        print(f"    {name:<44} {r['seconds']:7.2f} s  peak {r['peak_mb']:6.0f} MB"
              + (f"   {peer['seconds'] / r['seconds']:.1f}x faster than the peer" if r is not peer else ""), flush=True)
    steps = json.loads(peer["stdout"].strip().splitlines()[-1])
    print(f"      peer steps: {steps['laps']}", flush=True)
    print(f"      peer versions: {steps.get('versions')}", flush=True)


def peer_environment(folder: str) -> str:
    """A virtual environment with the peer at its current releases (made if missing, upgraded on every run)."""
    python = Path(folder) / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", folder], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--upgrade", "pip", "lifetimes", "pandas", "numpy",
                    "scipy"], check=True)
    return str(python)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, nargs="*", default=[1_000_000, 10_000_000])
    ap.add_argument("--stages", action="store_true", help="time each step of score instead")
    ap.add_argument("--stages-of", help=argparse.SUPPRESS)  # the fresh process --stages runs
    ap.add_argument("--preset", choices=["bench", "realistic"], default="bench",
                    help="bench: ~8.7 orders per customer; realistic: ~3")
    ap.add_argument("--peer-env", help="a folder for the peer's virtual environment (made and upgraded to the "
                                       "current releases first)")
    ap.add_argument("--peer-python", help="a Python with lifetimes: time score against the pandas + lifetimes "
                                          "pipeline (bench/peer_pipeline.py)")
    a = ap.parse_args()
    if a.stages_of:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        return stages_of(a.stages_of)
    if a.peer_env:
        a.peer_python = peer_environment(a.peer_env)
    for n in a.orders:
        if a.stages:
            print(f"{n:>11,} orders ({a.preset}): the steps of score", flush=True)
            subprocess.run([sys.executable, __file__, "--stages-of", str(export(n, a.preset))], check=True)
            continue
        if a.peer_python:
            against_peer(n, a.preset, a.peer_python)
            continue
        path = export(n)
        bare = measure([sys.executable, "-c", BARE_AGGREGATE, str(path)])
        out = Path("/tmp/clv-bench") / f"scores_{n}.csv"
        score = measure([sys.executable, "-m", "clv", "score", "--orders", str(path), "--out", str(out)])
        floor = measure([sys.executable, str(Path(__file__).parent / "_score_floor.py"), str(path),
                         str(Path("/tmp/clv-bench") / f"scores_floor_{n}.csv")])
        customers = rows_in(out)
        print(f"{n:>11,} orders, {customers:,} customers scored")
        print(f"    DuckDB bare per-customer aggregate  {bare['seconds']:6.2f} s  peak {bare['peak_mb']:6.0f} MB")
        print(f"    python -m clv score                 {score['seconds']:6.2f} s  peak {score['peak_mb']:6.0f} MB"
              f"   = {score['seconds'] / bare['seconds']:.2f}x the bare query")
        print(f"    floor: fused customer query + the same models, segments and CSV (bench/_score_floor.py)\n"
              f"                                        {floor['seconds']:6.2f} s  peak {floor['peak_mb']:6.0f} MB"
              f"   = {floor['seconds'] / bare['seconds']:.2f}x the bare query")
        csv_out = float(floor["stdout"].split("CSV out ")[-1].split()[0])
        print(f"      of which writing the CSV {csv_out:.2f} s; without it {floor['seconds'] - csv_out:6.2f} s"
              f"   = {(floor['seconds'] - csv_out) / bare['seconds']:.2f}x the bare query", flush=True)


if __name__ == "__main__":
    main()
