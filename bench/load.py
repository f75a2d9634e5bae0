"""Many users at once on one server: browser sessions uploading different shops while others move sliders.

    python bench/load.py [--uploaders 4] [--movers 4] [--customers 20000] [--no-bomb]

Starts `streamlit run app.py` on a free localhost port and drives Debian's Chromium (Playwright). Each uploader
sends its own generated shop (a different number of customers) and checks that its Data page shows exactly its
own customer count; each mover opens "What is each worth?" on the sample shop, lowers the gross margin from 40 %
to 35 % and checks that its average projected CLTV moved by exactly 35/40 (projected value is proportional to the
margin) — so every session sees only its own numbers. One more session uploads a 2 KB workbook bomb at the same
time and must be told why it is refused while the others carry on. Prints the server's resident memory (RSS) at baseline, at
the peak while the sessions run, and after the tabs close (the sessions' resources are released on disconnect,
ui/common._SessionResources), the server's temporary folder at the same moments, and any error in the server log.
"""
from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _run import CHROMIUM_ARGS as ARGS, serve_app  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def shop_csv(path: Path, customers: int, seed: int) -> Path:
    """About three orders per customer, dates over two years, amounts 10-200."""
    rnd = random.Random(seed)
    with path.open("w") as f:
        f.write("customer_id,order_date,amount\n")
        for c in range(customers):
            for _ in range(1 + min(int(rnd.expovariate(0.5)), 12)):
                f.write(f"s{seed}-c{c},2024-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d},"
                        f"{rnd.uniform(10, 200):.2f}\n")
    return path


def tmp_mb(work: Path) -> float:
    """What the server's temporary folder holds (uploads, unpacked archives, DuckDB spill files)."""
    return sum(f.stat().st_size for f in (work / "tmp").rglob("*") if f.is_file()) / 2 ** 20


def bomb_xlsx(path: Path) -> Path:
    """A 2 KB workbook with a cell in A1 and one in XFD1048576: the Excel reader would allocate 17 billion cells."""
    root = Path(__file__).resolve().parent.parent
    sys.path[:0] = [str(root), str(root / "tests")]
    from test_bombs import HEADER, ROW, _cell, _xlsx
    return _xlsx(path, HEADER + ROW + '<row r="1048576">' + _cell("XFD1048576", "x") + "</row>")


def metric(page, label: str):
    return (page.get_by_test_id("stMetric").filter(has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
            .get_by_test_id("stMetricValue"))


def amount(text: str) -> float:
    return float(re.sub(r"[^0-9.]", "", text))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--uploaders", type=int, default=4)
    ap.add_argument("--movers", type=int, default=4)
    ap.add_argument("--customers", type=int, default=20000, help="customers in the first uploader's shop (+10 %% each)")
    ap.add_argument("--no-bomb", action="store_true",
                    help="leave out the extra session that uploads a workbook bomb (refused in words, nobody disturbed)")
    ap.add_argument("--linger", type=int, default=150,
                    help="seconds after the tabs closed to measure again, once a new visitor has connected (Streamlit "
                         "keeps a closed tab's session for 2 minutes in case it reconnects, then drops it on the "
                         "next connection)")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="clv-load-"))
    server, url = serve_app(work)
    sizes = [int(a.customers * (1 + 0.1 * i)) for i in range(a.uploaders)]
    files = [shop_csv(work / f"shop{i}.csv", n, i) for i, n in enumerate(sizes)]
    peak = [0.0]
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            peak[0] = max(peak[0], rss_mb(server.pid))
            time.sleep(0.2)

    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
            warm = browser.new_page()
            warm.goto(url + "/Customer_value")  # the baseline: a server that has served the sample shop once
            expect(metric(warm, "Average projected CLTV")).to_be_visible(timeout=180_000)
            warm.context.close()
            time.sleep(5)
            baseline, baseline_tmp = rss_mb(server.pid), tmp_mb(work)
            threading.Thread(target=watch, daemon=True).start()
            t0 = time.perf_counter()
            uploaders, movers = [], []
            for i in range(a.uploaders):
                page = browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()
                page.goto(url + "/Data")
                uploaders.append(page)
            for i in range(a.movers):
                page = browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()
                page.goto(url + "/Customer_value")
                movers.append(page)
            bomber = None
            if not a.no_bomb:
                bomber = browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()
                bomber.goto(url + "/Data")
            pairs = list(zip(uploaders, files)) + ([(bomber, bomb_xlsx(work / "bomb.xlsx"))] if bomber else [])
            for page, f in pairs:  # all uploads in flight at once, the bomb among them
                expect(page.get_by_test_id("stFileUploader").first).to_be_visible(timeout=180_000)
                page.get_by_test_id("stFileUploader").first.locator("input[type=file]").set_input_files(str(f))
            before = []
            for page in movers:
                expect(metric(page, "Average projected CLTV")).to_be_visible(timeout=300_000)
                before.append(amount(metric(page, "Average projected CLTV").inner_text()))
                knob = page.get_by_test_id("stSlider").filter(has_text="Gross margin").get_by_role("slider")
                knob.focus()
                for _ in range(5):
                    knob.press("ArrowLeft")  # 40 % -> 35 %
            problems = []
            for page, n in zip(uploaders, sizes):
                expect(metric(page, "Customers")).to_have_text(f"{n:,}", timeout=300_000)
            bomb_said = ""
            if bomber:
                alert = bomber.get_by_test_id("stAlertContentError").filter(has_text="cells")
                expect(alert.first).to_be_visible(timeout=120_000)
                bomb_said = alert.first.inner_text()[:160]
            for page, b in zip(movers, before):
                want = b * 35 / 40
                deadline = time.time() + 300
                while True:
                    now = amount(metric(page, "Average projected CLTV").inner_text())
                    if abs(now - want) <= 0.011 + 0.005 * want or time.time() > deadline:
                        break
                    page.wait_for_timeout(500)
                if abs(now - want) > 0.011 + 0.005 * want:
                    problems.append(f"mover saw {now} after the margin change, expected {want:.2f}")
            took = time.perf_counter() - t0
            during = peak[0]
            for page in uploaders + movers + ([bomber] if bomber else []):
                page.context.close()
            browser.close()
        released, closed = [], time.time()
        for wait in (5, 15, 30):
            time.sleep(max(0.0, closed + wait - time.time()))
            released.append((wait, rss_mb(server.pid), tmp_mb(work)))
        if a.linger:
            time.sleep(max(0.0, closed + a.linger - time.time()))
            with sync_playwright() as pw:  # a new visitor: Streamlit drops the expired sessions on this connection
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
                page = browser.new_page()
                page.goto(url + "/")
                expect(metric(page, "Customers")).to_be_visible(timeout=180_000)
                browser.close()
            time.sleep(5)
            released.append((round(time.time() - closed), rss_mb(server.pid), tmp_mb(work)))
        stop.set()
    finally:
        server.terminate()
        server.wait(10)
    errors = [line for line in (work / "server.log").read_text().splitlines() if "Traceback" in line or "Error" in line]
    print(f"{a.uploaders} sessions uploading shops of {', '.join(f'{n:,}' for n in sizes)} customers "
          f"(~3 orders each) while {a.movers} sessions moved the margin slider: all done in {took:.1f} s")
    print(f"each session saw only its own numbers: {'yes' if not problems else 'NO: ' + '; '.join(problems)}")
    if not a.no_bomb:
        print(f"one more session uploaded a 2 KB workbook bomb at the same time; it was told: {bomb_said!r}")
    print(f"server RSS: baseline {baseline:.0f} MB, peak {during:.0f} MB, after the tabs closed: "
          + ", ".join(f"{m:.0f} MB at {w} s" for w, m, _ in released)
          + (" (the last after a new visit)" if a.linger else ""))
    print(f"server temporary folder: baseline {baseline_tmp:.1f} MB, after the tabs closed: "
          + ", ".join(f"{t:.1f} MB at {w} s" for w, _, t in released))
    print(f"server log: {len(errors)} error lines" + (":\n" + "\n".join(errors[:10]) if errors else ""))


if __name__ == "__main__":
    main()
