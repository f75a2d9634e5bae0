"""How fast the pages answer a change, in a real browser, at 100k customers.

    python bench/interactive.py [--orders 300000] [--repeats 3]

Uploads a generated shop (preset "realistic": ~3 orders per customer, so 300k orders ≈ 100k customers) on a live
server, then times, from the change in the browser to the page being idle again (no running indicator, no
spinner for 0.5 s), every sidebar control on the page where it shows most (CONTROLS: the horizon, margin and
discount rate re-price without a refit; the churn window re-runs churn only; the purchase model refits the value
and churn models; RFM, behavioural and cluster controls re-score segments), and each page's first visit.
Prints each figure (median of --repeats; the first change of a control is one of them), and the server's memory
(resident set of the Streamlit process, sampled every 0.2 s: after each step and its peak). --parquet uploads the
same orders as a Parquet file (made once beside the CSV).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _run import CHROMIUM_ARGS as ARGS, export, rows_in, serve_app  # noqa: E402


def idle(page, quiet_ms: int = 500, timeout_s: float = 600) -> float:
    """Wait until the app's script has not been running and no spinner has shown for quiet_ms; returns when it
    became idle."""
    deadline = time.time() + timeout_s
    quiet_since = None
    while time.time() < deadline:
        # the app's own run state (the attribute Streamlit's end-to-end tests wait on), and any spinner
        state = page.get_attribute("[data-testid=stApp]", "data-test-script-state")
        busy = state != "notRunning" or page.get_by_test_id("stSpinner").count()
        now = time.perf_counter()
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif (now - quiet_since) * 1000 >= quiet_ms:
            return quiet_since
        page.wait_for_timeout(25)
    raise TimeoutError("the page did not become idle")


def slider(page, label: str):
    return page.get_by_test_id("stSlider").filter(has_text=label).get_by_role("slider")


def timed(page, action) -> float:
    t0 = time.perf_counter()
    action()
    page.wait_for_timeout(150)  # the rerun request reaches the server and the running indicator appears
    return idle(page) - t0


def _slider(page, label, i):
    knob = slider(page, label)
    knob.focus()
    knob.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")


def _select(page, label, values, i):
    page.get_by_test_id("stSidebar").get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=values[i % 2], exact=True).click()


def _click(page, label, values, i):
    page.get_by_test_id("stSidebar").get_by_text(values[i % 2], exact=True).click()


def _number(page, label, i):
    box = page.get_by_test_id("stSidebar").get_by_test_id("stNumberInput").filter(has_text=label)
    box.get_by_test_id("stNumberInputStepUp" if i % 2 == 0 else "stNumberInputStepDown").click()


def _text(page, label, values, i):
    box = page.get_by_test_id("stSidebar").get_by_role("textbox", name=label)
    box.fill(values[i % 2])
    box.press("Enter")


#: (page link, sidebar expander to open first, what is changed, how): every control of ui.common.sidebar
CONTROLS = [
    ("Overview", None, "Cost to acquire a customer (CAC)", lambda p, i: _number(p, "Cost to acquire", i)),
    ("What is each worth?", None, "Gross margin %", lambda p, i: _slider(p, "Gross margin", i)),
    ("What is each worth?", None, "Yearly discount rate %", lambda p, i: _slider(p, "Yearly discount rate", i)),
    ("What is each worth?", None, "Projection horizon 12 <-> 24",
     lambda p, i: _select(p, "Projection horizon (months)", ["24", "12"], i)),
    ("What is each worth?", None, "Purchase model: Pareto/NBD <-> by backtest (refit)",
     lambda p, i: _select(p, "Purchase model", ["Pareto/NBD (customers can leave at any time)",
                                                "choose by backtest"], i)),
    ("Who is slipping away?", None, "Churn window (days)", lambda p, i: _slider(p, "Churn window", i)),
    ("Who are my customers?", "RFM & clusters", "RFM scoring quantiles <-> thresholds",
     lambda p, i: _click(p, "RFM scoring", ["thresholds", "quantiles"], i)),
    ("Who are my customers?", "RFM & clusters", "Recency cut-offs",
     lambda p, i: _text(p, "Recency cut-offs (days)", ["20, 50, 100, 200", "30, 60, 120, 240"], i)),
    ("Who are my customers?", "RFM & clusters", "Cluster on R,F,M <-> + behaviour",
     lambda p, i: _click(p, "Cluster on", ["R, F, M + behaviour", "R, F, M"], i)),
    ("Who are my customers?", "Behavioural segments", "Big spender: top %", lambda p, i: _slider(p, "Big spender", i)),
    ("Who are my customers?", "Behavioural segments", "First-time buyer days",
     lambda p, i: _slider(p, "First-time buyer", i)),
]


class Memory:
    """The resident memory of a process, sampled on a thread: ``now()`` and the peak since the start, in MB."""

    def __init__(self, pid: int, every: float = 0.2):
        self.pid, self.peak, self.last, self._stop = pid, 0.0, 0.0, threading.Event()
        threading.Thread(target=self._run, args=(every,), daemon=True).start()

    def _read(self) -> float:
        try:
            with open(f"/proc/{self.pid}/status") as fh:
                return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS")) / 1024
        except (OSError, StopIteration):
            return self.last

    def _run(self, every: float) -> None:
        while not self._stop.is_set():
            self.last = self._read()
            self.peak = max(self.peak, self.last)
            time.sleep(every)

    def now(self) -> float:
        return self._read()

    def stop(self) -> None:
        self._stop.set()


def parquet_of(path: Path) -> Path:
    """The CSV's orders as a Parquet file beside it (made once)."""
    out = path.with_suffix(".parquet")
    if not out.exists():
        import duckdb
        duckdb.connect().execute("COPY (SELECT * FROM read_csv($p, types={'customer_id': 'VARCHAR'})) TO $o",
                                 {"p": str(path), "o": str(out)})
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=300_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--parquet", action="store_true", help="upload the orders as a Parquet file")
    a = ap.parse_args()
    csv = export(a.orders, "realistic")
    path = parquet_of(csv) if a.parquet else csv
    work = Path(tempfile.mkdtemp(prefix="clv-interactive-"))
    server, url = serve_app(work)
    memory = Memory(server.pid)
    after: dict[str, float] = {"server started": memory.now()}
    results: dict[str, list[float]] = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
            page = browser.new_context(viewport={"width": 1400, "height": 1400}).new_page()
            page.goto(url + "/Data")
            expect(page.get_by_test_id("stFileUploader").first).to_be_visible(timeout=180_000)
            idle(page)
            t0 = time.perf_counter()
            page.get_by_test_id("stFileUploader").first.locator("input[type=file]").set_input_files(str(path))
            page.wait_for_timeout(500)
            results["upload and build the customer table"] = [idle(page, 1000) - t0]
            after["upload and build the customer table"] = memory.now()
            customers = page.get_by_test_id("stMetric").filter(has_text="Customers").get_by_test_id(
                "stMetricValue").first.inner_text()
            current, opened = None, set()
            for link, expander, what, change in CONTROLS:
                if link != current:
                    t0 = time.perf_counter()
                    page.get_by_test_id("stSidebar").get_by_role("link", name=link).click()
                    page.wait_for_timeout(500)  # the new page's run has started (a page switch is not instant)
                    results[f"{link}: first visit"] = [idle(page, 1000) - t0]
                    after[f"{link}: first visit"] = memory.now()
                    current = link
                if expander and expander not in opened:  # closed by default; stays open across pages
                    page.get_by_test_id("stSidebar").get_by_text(expander, exact=True).click()
                    opened.add(expander)
                    idle(page)
                for i in range(a.repeats):
                    results.setdefault(f"{link}: {what}", []).append(timed(page, lambda: change(page, i)))
            after["every page and control"] = memory.now()
            browser.close()
    finally:
        memory.stop()
        server.terminate()
        server.wait(10)
    print(f"{rows_in(csv):,} orders ({'Parquet' if a.parquet else 'CSV'}, {path.stat().st_size / 1e6:,.0f} MB), "
          f"{customers} customers; seconds from the change in the browser to an idle page "
          f"(median of {a.repeats} where repeated):")
    for what, times in results.items():
        print(f"  {what:<78} {statistics.median(times):7.2f} s" + (f"  (all: {', '.join(f'{t:.2f}' for t in times)})"
                                                                    if len(times) > 1 else ""))
    print("server memory (resident, MB): " + ", ".join(f"{k} {v:,.0f}" for k, v in after.items())
          + f"; peak {memory.peak:,.0f}")
    errors = [line for line in (work / "server.log").read_text().splitlines() if "Traceback" in line]
    print(f"server log: {len(errors)} tracebacks")


if __name__ == "__main__":
    main()
