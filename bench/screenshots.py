"""Screenshot every page of a running app (python -m streamlit run app.py) into bench/out/, to look at them.

    python bench/screenshots.py [--url http://127.0.0.1:8501]
"""
import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

PAGES = ["", "Data", "Segments", "Customer_value", "Churn_risk", "Playbook", "Campaigns", "LTV_cuts"]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

ap = argparse.ArgumentParser()
ap.add_argument("--url", default="http://127.0.0.1:8501")
ap.add_argument("--pages", nargs="*", default=PAGES)
ap.add_argument("--height", type=int, default=2400)
a = ap.parse_args()
out = Path(__file__).parent / "out"
out.mkdir(exist_ok=True)
with sync_playwright() as pw:
    b = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
    for name in a.pages:
        page = b.new_page(viewport={"width": 1400, "height": a.height})
        page.goto(f"{a.url}/{name}")
        page.wait_for_timeout(3000)
        quiet = 0  # the script run is over when there has been no spinner and no "running" widget for 2 s
        for _ in range(240):  # (a spinner can appear a moment after the page first looks idle)
            busy = page.get_by_test_id("stSpinner").count() or page.get_by_test_id("stStatusWidget").count()
            quiet = 0 if busy else quiet + 1
            if quiet >= 8:
                break
            page.wait_for_timeout(500)
        for _ in range(40):  # plotly draws after the script run; wait until every chart has its SVG
            charts = page.locator("[data-testid=stPlotlyChart]")
            if charts.count() == page.locator("[data-testid=stPlotlyChart] .main-svg").count() // 2 or \
                    charts.count() <= page.locator("[data-testid=stPlotlyChart] .main-svg").count():
                break
            page.wait_for_timeout(500)
        page.wait_for_timeout(6000)  # tables (a canvas grid) draw a moment after the run
        path = out / f"{name or 'Overview'}.png"
        page.screenshot(path=str(path))
        print(path)
    b.close()
