"""How fast the pages answer a change, in a real browser, at 100k customers.

    python bench/interactive.py [--orders 300000] [--repeats 3]

Uploads a generated shop (preset "realistic": ~3 orders per customer, so 300k orders ≈ 100k customers) on a live
server, then times, from the change in the browser to the page being idle again (no running indicator, no
spinner for 0.5 s):
- Segments: moving a behavioural threshold (Big spender: top %), which re-scores segments without refitting the
  clusters;
- Customer value: moving the gross margin, and switching the horizon 12 → 24 months, which re-price without
  refitting the purchase model (the refit itself is timed too, for comparison: first visit of the page).
Prints each figure (median of --repeats).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _run import CHROMIUM_ARGS as ARGS, export, rows_in, serve_app  # noqa: E402


def idle(page, quiet_ms: int = 500, timeout_s: float = 600) -> float:
    """Wait until the app has shown no running indicator and no spinner for quiet_ms; returns when it became idle."""
    deadline = time.time() + timeout_s
    quiet_since = None
    while time.time() < deadline:
        busy = page.get_by_test_id("stStatusWidget").count() or page.get_by_test_id("stSpinner").count()
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=300_000)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    path = export(a.orders, "realistic")
    work = Path(tempfile.mkdtemp(prefix="clv-interactive-"))
    server, url = serve_app(work)
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
            customers = page.get_by_test_id("stMetric").filter(has_text="Customers").get_by_test_id(
                "stMetricValue").first.inner_text()

            t0 = time.perf_counter()
            page.get_by_role("link", name="Who are my customers?").click()
            results["Segments, first visit (clusters fitted)"] = [idle(page, 1000) - t0]
            page.get_by_test_id("stSidebar").get_by_text("Behavioural segments").click()  # a closed expander
            knob = slider(page, "Big spender")
            for i in range(a.repeats):
                knob.focus()
                results.setdefault("Segments: threshold change (Big spender top %)", []).append(
                    timed(page, lambda: knob.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")))

            t0 = time.perf_counter()
            page.get_by_role("link", name="What is each worth?").click()
            results["Customer value, first visit (models fitted and backtested)"] = [idle(page, 1000) - t0]
            knob = slider(page, "Gross margin")
            for i in range(a.repeats):
                knob.focus()
                results.setdefault("Customer value: margin change (re-price, no refit)", []).append(
                    timed(page, lambda: knob.press("ArrowLeft" if i % 2 == 0 else "ArrowRight")))
            for i in range(a.repeats):
                box = page.get_by_test_id("stSelectbox").filter(has_text="Projection horizon")

                def switch():
                    box.click()
                    page.get_by_role("option", name="24" if i % 2 == 0 else "12", exact=True).click()
                results.setdefault("Customer value: horizon 12 <-> 24 months (re-price, no refit)", []).append(
                    timed(page, switch))
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
    print(f"{rows_in(path):,} orders, {customers} customers; seconds from the change in the browser to an idle page "
          f"(median of {a.repeats} where repeated):")
    for what, times in results.items():
        print(f"  {what:<70} {statistics.median(times):7.2f} s" + (f"  (all: {', '.join(f'{t:.2f}' for t in times)})"
                                                                    if len(times) > 1 else ""))
    errors = [line for line in (work / "server.log").read_text().splitlines() if "Traceback" in line]
    print(f"server log: {len(errors)} tracebacks")


if __name__ == "__main__":
    main()
