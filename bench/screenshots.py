"""Screenshot every page of a running app (python -m streamlit run app.py) into bench/out/, to look at them;
with --upload FILE, on an uploaded orders file instead of the sample shop.

    python bench/screenshots.py [--url http://127.0.0.1:8501]
"""
import argparse
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from ui.pages import DATA_PAGES  # noqa: E402

PAGES = [p.url_path for p in DATA_PAGES]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

ap = argparse.ArgumentParser()
ap.add_argument("--url", default="http://127.0.0.1:8501")
ap.add_argument("--pages", nargs="*", default=PAGES)
ap.add_argument("--height", type=int, default=2400)
ap.add_argument("--upload", help="an orders file to upload first on Your data; every page is then shown on it "
                                 "(reopened from the browser's workspace) and saved as <page>-upload.png")
a = ap.parse_args()
out = Path(__file__).parent / "out"
out.mkdir(exist_ok=True)


def wait_idle(page) -> None:
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


with sync_playwright() as pw:
    b = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
    query, suffix = "", ""
    if a.upload:  # upload on Your data, then open every page on the browser's workspace (?ws=…): the upload
        page = b.new_page(viewport={"width": 1400, "height": a.height})
        page.goto(f"{a.url}/Data")
        wait_idle(page)
        page.get_by_test_id("stFileUploader").first.locator("input[type=file]").set_input_files(a.upload)
        wait_idle(page)
        query, suffix = "?" + page.url.split("?", 1)[1], "-upload"
    for name in a.pages:
        page = b.new_page(viewport={"width": 1400, "height": a.height})
        page.goto(f"{a.url}/{name}{query}")
        wait_idle(page)
        path = out / f"{name or 'Overview'}{suffix}.png"
        page.screenshot(path=str(path))
        print(path)
    b.close()
