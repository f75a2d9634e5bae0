"""Shared by the benchmarks: make big exports, and time a command in a fresh process with its peak memory."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIG = Path("/tmp/clv-bench")
ORDERS_PER_CUSTOMER = {"bench": 8.7, "realistic": 3.0}  # the generator's presets


def export(orders: int, preset: str = "bench") -> Path:
    """A generic one-row-per-order CSV with about ``orders`` orders (made once, kept in /tmp/clv-bench).

    preset "bench": about 8.7 orders per customer; "realistic": about 3 (most customers buy once or twice)."""
    prefix = f"orders_{orders}" if preset == "bench" else f"{preset}_{orders}"
    path = BIG / f"{prefix}_orders.csv"
    if not path.exists():
        BIG.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(ROOT / "data" / "generate.py"), "--customers",
                        str(int(orders / ORDERS_PER_CUSTOMER[preset])), "--preset", preset, "--format", "generic",
                        "--no-interactions", "--out-dir", str(BIG), "--prefix", prefix],
                       check=True, stdout=subprocess.DEVNULL)
    return path


def rows_in(path: Path) -> int:
    """Data rows of a CSV with a header line."""
    with open(path, "rb") as fh:
        return sum(1 for _ in fh) - 1


_MEASURE = ("import resource, subprocess, sys, time, json\n"
            "t = time.perf_counter()\n"
            "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
            "s = time.perf_counter() - t\n"
            "print(json.dumps({'seconds': s, 'peak_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,"
            " 'rc': r.returncode, 'stderr': r.stderr[-2000:], 'stdout': r.stdout[-2000:]}))")


def measure(cmd: list[str], cwd=ROOT) -> dict:
    """Wall time and peak resident memory of ``cmd`` run in a fresh process (measured by a parent of its own) in
    ``cwd`` (the checkout whose ``clv`` ``python -m clv`` runs)."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, *cmd], capture_output=True, text=True, cwd=cwd)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    if res["rc"]:
        raise RuntimeError(f"{cmd} failed:\n{res['stderr']}")
    return res


BARE_LOAD = ("import duckdb, sys; con = duckdb.connect(); "
             "con.execute('CREATE TABLE t AS SELECT * FROM read_csv(?)', [sys.argv[1]]); "
             "print(con.execute('SELECT count(*) FROM t').fetchall())")

BARE_AGGREGATE = ("import duckdb, sys; con = duckdb.connect(); "
                  "print(len(con.execute(\"SELECT customer_id, count(DISTINCT order_date::DATE) - 1 AS frequency, "
                  "date_diff('day', min(order_date::DATE), max(order_date::DATE)) AS recency, "
                  "date_diff('day', min(order_date::DATE), (SELECT max(order_date::DATE) FROM read_csv($p))) AS T, "
                  "sum(amount) AS revenue FROM read_csv($p) GROUP BY ALL\", {'p': sys.argv[1]}).fetchall()))")

# The floor of any `summary`: only the purchase columns of the customer table (no validation, no de-duplication
# check, no interactions, statuses by their plain names), in one DuckDB query straight from the CSV to a CSV.
FUSED_CUSTOMERS = ("import duckdb, sys; con = duckdb.connect(); con.execute(\"SET memory_limit = '1GB'\"); "
                   "con.execute(\"COPY (WITH p AS NOT MATERIALIZED (SELECT lower(trim(customer_id)) AS c, "
                   "order_date AS ts, amount AS net, discount FROM read_csv($p, types={'customer_id': 'VARCHAR'}) "
                   "WHERE status NOT IN ('voided', 'refunded', 'cancelled')), "
                   "per_c AS (SELECT c, count(*) AS orders, count(*) FILTER (WHERE discount > 0) / count(*) AS ds, "
                   "min(ts) AS first_order, max(ts) AS last_order FROM p GROUP BY c), "
                   "days AS (SELECT c, ts::DATE AS d, sum(net) AS net FROM p GROUP BY ALL), "
                   "per_d AS (SELECT c, count(*) - 1 AS frequency, min(d) AS first_day, max(d) AS last_day, "
                   "sum(net) AS revenue, arg_min(net, d) AS first_net FROM days GROUP BY c) "
                   "SELECT * FROM per_d JOIN per_c USING (c) ORDER BY c) TO '/tmp/clv-bench/fused.csv' (HEADER)\", "
                   "{'p': sys.argv[1]})")

# The same floor computed from one scan: one GROUP BY customer and day, rolled up per customer.
FUSED_CUSTOMERS_ONE_SCAN = (
    "import duckdb, sys; con = duckdb.connect(); con.execute(\"SET memory_limit = '1GB'\"); "
    "con.execute(\"COPY (WITH days AS (SELECT lower(trim(customer_id)) AS c, order_date::DATE AS d, "
    "sum(amount) AS net, count(*) AS n, count(*) FILTER (WHERE discount > 0) AS nd, min(order_date) AS f, "
    "max(order_date) AS l FROM read_csv($p, types={'customer_id': 'VARCHAR'}) "
    "WHERE status NOT IN ('voided', 'refunded', 'cancelled') GROUP BY ALL) "
    "SELECT c, count(*) - 1 AS frequency, min(d) AS first_day, max(d) AS last_day, sum(net) AS revenue, "
    "arg_min(net, d) AS first_net, sum(n) AS orders, sum(nd) / sum(n) AS ds, min(f) AS first_order, "
    "max(l) AS last_order FROM days GROUP BY c ORDER BY c) TO '/tmp/clv-bench/fused.csv' (HEADER)\", "
    "{'p': sys.argv[1]})")


#: Chromium's flags on these machines (headless, no sandbox, no background networking)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def serve_app(work: Path) -> tuple[subprocess.Popen, str]:
    """`streamlit run app.py` on a free localhost port, workspaces, temporary folder (tmp) and log (server.log) in
    ``work``; returns the
    process and its URL once it answers its health check. The caller terminates it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (work / "tmp").mkdir(exist_ok=True)  # the server's temporary folder (uploads, DuckDB spill files): measurable
    env = dict(os.environ, CLV_WORKSPACES=str(work / "workspaces"), STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
               TMPDIR=str(work / "tmp"))
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                               "--server.port", str(port), "--server.address", "127.0.0.1",
                               "--server.fileWatcherType", "none"], cwd=ROOT, stdout=open(work / "server.log", "w"),
                              stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
    return server, url
