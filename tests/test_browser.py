"""Real-browser tests: Playwright driving Debian's Chromium against a live Streamlit server."""
import contextlib
import functools
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
    if os.environ.get("CLV_REQUIRE_BROWSER"):
        raise RuntimeError("CLV_REQUIRE_BROWSER is set but /usr/bin/chromium is missing")
    pytest.skip("Debian chromium is not installed (apt-get install -y chromium)", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

expect.set_options(timeout=45_000)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(extra: list[str], log_path: Path) -> tuple[subprocess.Popen, str]:
    """A Streamlit server on a free port, once it answers its health check; a port taken between the probe and
    Streamlit's bind (the Spark tests on the other worker pick free ports too) is retried on another port."""
    env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    for attempt in range(3):
        port = _free_port()
        with open(log_path, "w") as log:
            proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                                     "--server.port", str(port), "--server.address", "127.0.0.1",
                                     "--server.fileWatcherType", "none", *extra], cwd=ROOT, stdout=log,
                                    stderr=subprocess.STDOUT, env=env)
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while True:
            if proc.poll() is not None:
                said = log_path.read_text()
                if "is not available" in said and attempt < 2:  # Streamlit: "Port N is not available"
                    break
                raise RuntimeError("streamlit died:\n" + said)
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                    return proc, url
            except OSError:
                pass
            if time.time() > deadline:
                proc.kill()
                raise RuntimeError("streamlit did not start in 60 s")
            time.sleep(0.3)
    raise AssertionError("unreachable")


@contextlib.contextmanager
def _serve(extra: list[str], log_name: str):
    """A live Streamlit server on a free port (yields its URL), stopped afterwards — also when the test fails."""
    proc, url = _start(extra, ROOT / "tests" / log_name)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="session")
def server():
    with _serve([], "streamlit-server.log") as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


#: what a page shows now: while a run draws, Streamlit keeps the previous run's elements, marked stale, until they are
#: replaced (a metric of the sample shop beside the upload's once made a locator find two "Customers")
CURRENT = '[data-testid="stElementContainer"]:not([data-stale="true"])'


def metric_value(page, label: str):
    return (page.locator(CURRENT).get_by_test_id("stMetric")
            .filter(has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
            .get_by_test_id("stMetricValue"))


def shopify_csv(tmp_path: Path, customers: int, name: str) -> Path:
    rows = ["Name,Email,Financial Status,Currency,Total,Discount Amount,Created at,Lineitem quantity,Lineitem name,"
            "Cancelled at,Refunded Amount"]
    for i in range(customers):
        rows.append(f"#{1000 + 2 * i},user{i}@{name}.com,paid,USD,20.00,0,2024-01-0{1 + i % 9} 10:00:00 -0500,1,Tee,,")
        rows.append(f"#{1000 + 2 * i},,,,,,2024-01-0{1 + i % 9} 10:00:00 -0500,1,Cap,,")
    path = tmp_path / f"{name}.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


@functools.cache
def sample_customers() -> str:
    from clv.store import Shop
    return f"{Shop.sample().orders_report.customers:,}"


def open_data_page(browser, server):
    ctx = browser.new_context(viewport={"width": 1280, "height": 1400}, accept_downloads=True)
    page = ctx.new_page()
    page.goto(server + "/Data")
    expect(metric_value(page, "Customers")).to_have_text(sample_customers())
    return ctx, page


def upload(page, path: Path) -> None:
    """Into the orders slot, found by its label (the first uploader on the page is not always it while a run is
    still drawing: a file once landed in the interactions slot)."""
    slot = page.get_by_test_id("stFileUploader").filter(has_text="Orders export")
    expect(slot).to_have_count(1, timeout=120_000)
    slot.locator("input[type=file]").set_input_files(str(path))


def test_upload_shopify_file_shows_customer_count(browser, server, tmp_path):
    ctx, page = open_data_page(browser, server)
    upload(page, shopify_csv(tmp_path, 7, "alpha"))
    expect(metric_value(page, "Customers")).to_have_text("7")
    expect(metric_value(page, "Rows read")).to_have_text("14")
    page.screenshot(path=str(ROOT / "tests" / "screenshot-data-upload.png"))
    # the Overview counts the same customers and writes money in the file's currency (USD: $20.00 a purchase)
    page.get_by_test_id("stSidebar").get_by_role("link", name="Overview").click()
    expect(metric_value(page, "Customers")).to_have_text("7", timeout=120_000)
    expect(metric_value(page, "Average order value")).to_have_text("$20.00")
    # and back on Your data: the same file, its report and its mapping, no false error
    page.get_by_test_id("stSidebar").get_by_role("link", name="Your data").click()
    expect(metric_value(page, "Rows read")).to_have_text("14", timeout=120_000)
    expect(metric_value(page, "Customers")).to_have_text("7")
    assert page.get_by_text("No customer id or email column found").count() == 0
    ctx.close()


def test_two_sessions_see_only_their_own_data(browser, server, tmp_path):
    ctx_a, page_a = open_data_page(browser, server)
    ctx_b, page_b = open_data_page(browser, server)
    upload(page_a, shopify_csv(tmp_path, 3, "shop-a"))
    upload(page_b, shopify_csv(tmp_path, 5, "shop-b"))
    expect(metric_value(page_b, "Customers")).to_have_text("5")
    expect(metric_value(page_a, "Customers")).to_have_text("3")
    expect(page_a.get_by_test_id("stAlert").filter(has_text="shop-a.csv").first).to_be_visible()
    upload(page_a, shopify_csv(tmp_path, 4, "shop-a2"))  # a new run in A after B's upload: still A's own data
    expect(metric_value(page_a, "Customers")).to_have_text("4")
    expect(metric_value(page_b, "Customers")).to_have_text("5")
    # a third, new visitor still gets the sample shop
    ctx_c, page_c = open_data_page(browser, server)
    for ctx in (ctx_a, ctx_b, ctx_c):
        ctx.close()


def test_download_a_target_list_then_measure_its_campaign(browser, server, tmp_path):
    """Playbook -> target list (a CSV an e-mail tool opens) and its campaign file -> (sent on 31 Aug) -> Campaigns
    page: the verdict and the groups' buying rates."""
    import csv

    ctx = browser.new_context(viewport={"width": 1280, "height": 1600}, accept_downloads=True)
    page = ctx.new_page()
    page.goto(server + "/Playbook")
    button = page.get_by_test_id("stDownloadButton").filter(has_text="Download the send file")
    expect(button).to_be_visible(timeout=120_000)
    with page.expect_download() as info:
        button.get_by_role("button").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.name.startswith("send_plain_") and path.suffix == ".csv"
    sent_rows = list(csv.DictReader(path.open(newline="", encoding="utf-8")))
    assert sent_rows and set(sent_rows[0]) >= {"Customer", "Email", "Segment", "Chance of no purchase soon", "Why"}
    page.screenshot(path=str(ROOT / "tests" / "screenshot-playbook.png"))
    button = page.get_by_test_id("stDownloadButton").filter(has_text="Download its campaign file")
    expect(button).to_be_visible(timeout=120_000)
    with page.expect_download() as info:
        button.get_by_role("button").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.name.endswith(".campaign.csv")
    # the download keeps the campaign and reruns the page: let that run end before the next click, as a person would
    expect(page.get_by_text("is kept for this session")).to_be_visible(timeout=120_000)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=120_000)
    # every tactic's list in one zip, built only when asked for
    import zipfile
    page.get_by_role("button", name="Prepare all lists (zip)").click()
    zip_button = page.get_by_test_id("stDownloadButton").filter(has_text="Download all lists")
    expect(zip_button).to_be_visible(timeout=120_000)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=120_000)
    with page.expect_download() as info:
        zip_button.get_by_role("button").click()
    zipped = tmp_path / "lists.zip"
    info.value.save_as(zipped)
    names = zipfile.ZipFile(zipped).namelist()
    assert sum(n.endswith(".campaign.csv") for n in names) == sum(n.endswith(".send.csv") for n in names) > 1
    text = path.read_text(encoding="utf-8").splitlines()
    header = text[0].split(",")
    assert header[:7] == ["campaign_id", "tactic", "created", "seed", "control_share", "customer_id", "group"]
    treated = {line.split(",")[5] for line in text[1:] if line.split(",")[6] == "treatment"}
    assert {r["Customer"] for r in sent_rows} == treated  # the send file: the treatment group, and all of it
    # the founder sent it on 31 August; the sample shop's orders run to the end of October
    rows = [line.split(",", 3) for line in text[1:]]
    sent = tmp_path / "sent.campaign.csv"
    sent.write_text("\n".join([text[0]] + [f"{r[0].rsplit('-', 2)[0]}-aug,{r[1]},2026-08-31,{r[3]}" for r in rows])
                    + "\n", encoding="utf-8")
    page.goto(server + "/Campaigns")
    page.get_by_test_id("stFileUploader").first.locator("input[type=file]").set_input_files(str(sent))
    expect(metric_value(page, "Bought, contacted")).to_be_visible(timeout=120_000)
    verdict = page.get_by_test_id("stAlert").filter(has_text="of contact costs").first
    expect(verdict).to_be_visible()
    assert any(verdict.inner_text().startswith(v) for v in ("It worked", "Can't tell", "It backfired"))
    expect(page.get_by_text("Back into the playbook")).to_be_visible()
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ROOT / "tests" / "screenshot-campaigns.png"), full_page=True)
    ctx.close()


def _later_orders(before, campaigns: dict, cutoff, effects: dict, base: float = 0.10):
    """Shopify rows of the orders after ``cutoff`` with known effects: per tactic, exactly round((base + effect) × n)
    of its treatment group buy once and exactly round(base × n) of its control group and of the plan's hold-out
    (no sampling noise, so a right measurement is the truth up to rounding). Returns (rows, per campaign the true
    buying rates of its two groups)."""
    import pandas as pd
    buyers, truth, plan_treated = [], {}, []
    for tactic, c in campaigns.items():
        if tactic == "plan":
            continue
        for group, rate in (("treatment", base + effects[tactic]), ("control", base)):
            ids = sorted(c.loc[c["group"] == group, "customer_id"])
            buyers += ids[:round(rate * len(ids))]
        n_t = int((c["group"] == "treatment").sum())
        plan_treated.append((n_t, round((base + effects[tactic]) * n_t)))
        truth[c["campaign_id"].iloc[0]] = (base + effects[tactic], base)
    held = sorted(campaigns["plan"].loc[campaigns["plan"]["group"] == "control", "customer_id"])
    buyers += held[:round(base * len(held))]
    rows = pd.DataFrame({c: "" for c in before.columns}, index=range(len(buyers)))
    day = [cutoff + pd.Timedelta(days=1 + i % 58) for i in range(len(buyers))]
    rows = rows.assign(Name=[f"#L{i}" for i in range(len(buyers))], Email=buyers, **{
        "Financial Status": "paid", "Currency": "USD", "Subtotal": "60.00", "Shipping": "0.00", "Taxes": "0.00",
        "Total": "60.00", "Discount Amount": "0.00", "Lineitem quantity": "1", "Lineitem name": "Gift card",
        "Lineitem price": "60.00", "Source": "web", "Id": [str(9_000_000_000 + i) for i in range(len(buyers))],
        "Created at": [f"{d:%Y-%m-%d} 12:00:00 -0500" for d in day], "Paid at": [f"{d:%Y-%m-%d} 12:00:00 -0500" for d in day]})
    treated = sum(n for n, _ in plan_treated)
    truth[campaigns["plan"]["campaign_id"].iloc[0]] = (sum(k for _, k in plan_treated) / treated, base)
    return rows, truth


def test_the_whole_loop_on_the_sample_shop_back_dated_60_days(browser, server, tmp_path):
    """Issue 26's loop, as a founder runs it, on the sample shop cut 60 days before its last order: the plan sent on
    that day -> its send files (treatment only) and campaign files -> later orders simulated with a known effect per
    tactic -> both uploaded -> each tactic's buying-rate uplift interval and the plan's cover the truth (the money
    intervals' coverage is tests/test_campaigns.py's) -> the playbook ranks with the measured uplifts blended in."""
    import zipfile

    import pandas as pd
    from clv.store import SAMPLE_ORDERS, Shop
    raw = pd.read_csv(SAMPLE_ORDERS, dtype=str, keep_default_na=False)
    day = pd.to_datetime(raw["Created at"].str[:10])
    cutoff = day.max().normalize() - pd.Timedelta(days=60)
    before = raw[day < cutoff]
    first = tmp_path / "orders_until_cutoff.csv"
    before.to_csv(first, index=False)
    ctx, page = open_data_page(browser, server)
    upload(page, first)
    shop = Shop()
    shop.load_orders(first)
    expect(metric_value(page, "Customers")).to_have_text(f"{shop.orders_report.customers:,}", timeout=120_000)
    page.get_by_test_id("stSidebar").get_by_role("link", name="What should I do first?").click()
    year = page.get_by_role("spinbutton", name="year, Sent on")  # a date field of three spin buttons
    expect(year).to_be_visible(timeout=120_000)
    for part, value in (("year", f"{cutoff:%Y}"), ("month", f"{cutoff:%m}"), ("day", f"{cutoff:%d}")):
        page.get_by_role("spinbutton", name=f"{part}, Sent on").click()
        page.keyboard.type(value)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=120_000)
    page.get_by_role("button", name="Prepare the plan's files (zip)").click()
    button = page.get_by_test_id("stDownloadButton").filter(has_text="Download the plan's files (zip)")
    expect(button).to_be_visible(timeout=120_000)
    with page.expect_download() as info:
        button.get_by_role("button").click()
    plan = tmp_path / "plan.zip"
    info.value.save_as(plan)
    z = zipfile.ZipFile(plan)
    files = {}
    for name in z.namelist():
        (tmp_path / name).write_bytes(z.read(name))
        files[name] = tmp_path / name
    campaigns = {n.removesuffix(".campaign.csv"): pd.read_csv(p, dtype=str) for n, p in files.items()
                 if n.endswith(".campaign.csv")}
    assert "plan" in campaigns and len(campaigns) > 2
    assert (campaigns["plan"]["created"] == f"{cutoff:%Y-%m-%d}").all()
    for tactic, c in campaigns.items():  # each send file: its treatment group, and all of it
        if tactic != "plan":
            sent = pd.read_csv(files[f"{tactic}.send.csv"], dtype=str)
            assert set(sent["Customer"]) == set(c.loc[c["group"] == "treatment", "customer_id"])
    effects = {t: [0.25, 0.0, 0.12, 0.05][i % 4] for i, t in enumerate(sorted(t for t in campaigns if t != "plan"))}
    later, truth = _later_orders(before, campaigns, cutoff, effects)
    second = tmp_path / "orders_now.csv"
    pd.concat([before, later], ignore_index=True).to_csv(second, index=False)
    page.get_by_test_id("stSidebar").get_by_role("link", name="Your data").click()
    expect(metric_value(page, "Rows read")).to_have_text(f"{len(before):,}", timeout=120_000)
    upload(page, second)
    expect(metric_value(page, "Rows read")).to_have_text(f"{len(before) + len(later):,}", timeout=120_000)
    page.get_by_test_id("stSidebar").get_by_role("link", name="Did it work?").click()
    expect(page.get_by_text("No campaign to measure yet")).to_be_visible(timeout=120_000)  # this page, not the last
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=120_000)
    page.get_by_test_id("stFileUploader").first.locator("input[type=file]").set_input_files(
        [str(p) for n, p in files.items() if n.endswith(".campaign.csv")])
    expect(page.get_by_text("Back into the playbook")).to_be_visible(timeout=120_000)
    results = page.get_by_test_id("stDownloadButton").filter(has_text="Download the results")
    with page.expect_download() as info:
        results.get_by_role("button").click()
    info.value.save_as(tmp_path / "results.csv")
    res = pd.read_csv(tmp_path / "results.csv").set_index("campaign_id")
    assert set(res.index) == set(truth)
    for cid, (treated_rate, base) in truth.items():
        r = res.loc[cid]
        if r["treatment_customers"] < 2 or r["control_customers"] < 2:
            continue
        want = treated_rate - base
        assert r["uplift_low"] <= want <= r["uplift_high"], (cid, want, r["uplift_low"], r["uplift_high"])
    assert (res["verdict"].str.startswith("It worked") & (res["tactic"] != "plan")).any()
    page.get_by_test_id("stSidebar").get_by_role("link", name="What should I do first?").click()
    blended = page.get_by_test_id("stAlert").filter(has_text="Measured on your own campaigns")
    expect(blended).to_be_visible(timeout=120_000)
    assert blended.inner_text().count(" measured ") == int(((res["tactic"] != "plan") & res["uplift"].notna()).sum())
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=120_000)
    page.screenshot(path=str(ROOT / "tests" / "screenshot-loop-playbook.png"), full_page=True)
    ctx.close()


def test_a_refused_upload_is_said_everywhere_and_a_period_compares(browser, server, tmp_path):
    """Shopify's customers export dropped in the orders slot (the easy mistake: it sits next to "Export orders"):
    refused in words naming the orders export, not kept, and every page's first line says the numbers are the
    sample shop's. Then on the Overview a period and a comparison: the KPIs and the sentence under them change."""
    path = tmp_path / "customers_export.csv"
    path.write_text("Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Default Address Company,"
                    "Default Address City,Phone,Total Spent,Total Orders,Note,Tax Exempt,Tags\n"
                    "7301,Ann,Lee,ann@x.com,yes,,Berlin,,120.50,3,,no,\n")
    ctx, page = open_data_page(browser, server)
    upload(page, path)
    banner = page.get_by_test_id("stAlert").first
    expect(banner).to_contain_text("Your upload “customers_export.csv” is not loaded", timeout=120_000)
    expect(banner).to_contain_text("customer list")
    expect(banner).to_contain_text("Orders > Export")
    # not kept on the server (waited for: the list is redrawn after the banner, and read too early on a busy machine)
    expect(page.get_by_text("Your data sets (0)")).to_have_count(1, timeout=60_000)
    for label in ("Overview", "Who is slipping away?", "What should I do first?"):
        page.get_by_test_id("stSidebar").get_by_role("link", name=label).click()
        first = page.get_by_test_id("stMain").get_by_test_id("stAlert").first
        expect(first).to_contain_text("is not loaded", timeout=120_000)
        expect(first).to_contain_text("sample shop")
    page.get_by_test_id("stSidebar").get_by_role("link", name="Overview").click()
    expect(page.get_by_role("heading", name="The sample shop at a glance")).to_be_visible(timeout=120_000)
    page.get_by_test_id("stSelectbox").filter(has_text="Period").click()
    page.get_by_role("option", name="Last 90 days").click()
    expect(metric_value(page, "Customers who bought")).to_be_visible(timeout=120_000)
    sentence = page.get_by_text("Last 90 days:", exact=False).first
    expect(sentence).to_contain_text("against the period before")
    before = metric_value(page, "Revenue").first.inner_text()
    page.get_by_test_id("stSelectbox").filter(has_text="Compared with").click()
    page.get_by_role("option", name="the same period last year").click()
    expect(page.get_by_text("against the same period last year", exact=False)).to_be_visible(timeout=120_000)
    page.get_by_test_id("stSelectbox").filter(has_text="Period").click()
    page.get_by_role("option", name="Last 30 days").click()
    expect(page.get_by_text("Last 30 days:", exact=False).first).to_be_visible(timeout=120_000)
    assert metric_value(page, "Revenue").first.inner_text() != before
    ctx.close()


def upload_ad_spend(page, path: Path) -> None:
    """Into the Overview's ad spend slot (its expander opened first)."""
    page.get_by_text("CAC from your ad spend", exact=False).first.click()
    slot = page.get_by_test_id("stFileUploader").filter(has_text="Ad spend exports")
    expect(slot).to_have_count(1, timeout=120_000)
    slot.locator("input[type=file]").set_input_files(str(path))


def test_ad_spend_upload_gives_cac_per_channel_and_month(browser, server, tmp_path):
    """On the Overview, a spend table (the sample shop's orders say web / pos / iphone as their channel): what it read
    in words, the spend no new customer can be matched to said, and the payback table's CAC per channel and month
    the library's, to the cent."""
    import pandas as pd
    from clv.acquisition import cac_by_month, cohort_margins, payback, read_ad_spend
    from clv.store import Shop
    text = "date,channel,spend\n2026-09-10,web,1000\n2026-09-12,Facebook,500\n2026-10-05,web,800\n"
    path = tmp_path / "spend.csv"
    path.write_text(text)
    spend, _ = read_ad_spend(text.encode(), "spend.csv")
    margins = cohort_margins(Shop.sample(), 0.4)
    want = payback(cac_by_month(spend, margins)[0], margins).set_index(["cohort", "channel"])
    ctx = browser.new_context(viewport={"width": 1280, "height": 1600}, accept_downloads=True)
    page = ctx.new_page()
    page.goto(server + "/")
    upload_ad_spend(page, path)
    expect(page.get_by_text("a spend table, 3 rows read", exact=False)).to_be_visible(timeout=120_000)
    expect(page.get_by_text("meta in Sep 2026", exact=False)).to_be_visible()
    button = page.get_by_test_id("stDownloadButton").filter(has_text="Download the payback table")
    with page.expect_download() as info:
        button.get_by_role("button").click()
    info.value.save_as(tmp_path / "payback.csv")
    got = pd.read_csv(tmp_path / "payback.csv")
    got["cohort"] = pd.to_datetime(got["cohort"]).dt.date
    got = got.set_index(["cohort", "channel"])
    for key in [(pd.Timestamp("2026-09-01").date(), "web"), (pd.Timestamp("2026-10-01").date(), "web")]:
        assert got.loc[key, "cac"] == pytest.approx(want.loc[key, "cac"], abs=0.005)
        assert got.loc[key, "new_customers"] == want.loc[key, "new_customers"]
    ctx.close()


def test_ad_spend_is_kept_with_the_data_set_until_forgotten(browser, server, tmp_path):
    """Ad spend uploaded for an uploaded shop stays with its data set: after a reload the Overview still reads it
    (its CAC table, the files named); "Forget these files" takes it back, also from the data set."""
    ctx, page = open_data_page(browser, server)
    upload(page, ROOT / "data" / "sample_orders.csv")
    expect(page.get_by_test_id("stSidebar").get_by_text("Data: sample_orders.csv")).to_be_visible(timeout=120_000)
    spend = tmp_path / "spend.csv"
    spend.write_text("date,channel,spend\n2026-09-10,web,1000\n2026-10-05,web,800\n")
    page.get_by_test_id("stSidebar").get_by_role("link", name="Overview").click()
    upload_ad_spend(page, spend)
    expect(page.get_by_text("a spend table, 2 rows read", exact=False)).to_be_visible(timeout=120_000)
    expect(page.get_by_text("kept with this data set: spend.csv", exact=False)).to_be_visible()
    page.reload()
    expect(page.get_by_text("a spend table, 2 rows read", exact=False)).to_be_visible(timeout=120_000)
    button = page.get_by_role("button", name="Forget these files")
    button.click()
    expect(page.get_by_text("Until then the pages use the one cost", exact=False)).to_be_visible(timeout=120_000)
    page.reload()
    expect(page.get_by_test_id("stSidebar").get_by_text("Data: sample_orders.csv")).to_be_visible(timeout=120_000)
    page.get_by_text("CAC from your ad spend", exact=False).first.click()
    expect(page.get_by_text("Until then the pages use the one cost", exact=False)).to_be_visible(timeout=120_000)
    assert page.get_by_text("a spend table", exact=False).count() == 0
    ctx.close()


def test_shared_password_protects_every_page(browser, tmp_path):
    """A server with `[clv] password` in its secrets: no page shows data before the password; a wrong one is
    refused; the right one opens the dashboard."""
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[clv]\npassword = "open sesame"\n')
    with _serve(["--secrets.files", str(secrets)], "streamlit-server-password.log") as url:
        ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
        page = ctx.new_page()
        for path in ("/Customer_value", "/Data"):  # every page is gated; the last one is the light Data page
            page.goto(url + path)
            expect(page.get_by_label("Password", exact=True)).to_be_visible(timeout=60_000)
            assert page.get_by_test_id("stMetric").count() == 0
        page.get_by_label("Password", exact=True).fill("sesame")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("Wrong password.")).to_be_visible()
        assert page.get_by_test_id("stMetric").count() == 0
        page.get_by_label("Password", exact=True).fill("open sesame")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("Signed in as shared password")).to_be_visible(timeout=120_000)
        expect(metric_value(page, "Customers")).to_have_text(sample_customers(), timeout=120_000)  # the page asked for
        ctx.close()


def test_closing_the_tab_removes_its_uploads(browser, server, tmp_path):
    """Files kept only for a session (interactions uploaded next to the sample shop) are deleted when the tab
    disconnects — by the session's own end, not when the next visitor connects."""
    import tempfile
    before = set(Path(tempfile.gettempdir()).glob("clv-upload-*"))
    ctx, page = open_data_page(browser, server)
    events = tmp_path / "events.csv"
    events.write_text("customer_id,timestamp,event_type\nC00001,2026-01-05 10:00:00,view\n"
                      "C00002,2026-01-06 11:00:00,add_to_cart\n")
    page.get_by_test_id("stFileUploader").nth(1).locator("input[type=file]").set_input_files(str(events))
    expect(page.get_by_text("Interactions column mapping (events.csv)")).to_be_visible()
    # this session's folder: the new one holding events.csv (tests on the other worker make folders of their own)
    def holds_events(d: Path) -> bool:
        try:
            return any(p.name.endswith("events.csv") for p in d.iterdir())
        except FileNotFoundError:  # another session's folder, gone meanwhile
            return False
    new = [d for d in set(Path(tempfile.gettempdir()).glob("clv-upload-*")) - before if holds_events(d)]
    assert len(new) == 1
    ctx.close()
    deadline = time.time() + 30
    while new[0].exists() and time.time() < deadline:
        time.sleep(0.5)
    assert not new[0].exists()


def test_every_page_keeps_the_data_set_and_settings_through_a_reload(browser, server, tmp_path):
    """Upload → change a setting → every page from the sidebar → F5 on each: the same data set (its customers) and
    settings, never the sample shop's numbers; a second tab with the same address opens the same data set."""
    from ui.pages import PAGES
    ctx, page = open_data_page(browser, server)
    upload(page, shopify_csv(tmp_path, 7, "delta"))
    expect(metric_value(page, "Customers")).to_have_text("7")
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_test_id("stSelectbox").filter(has_text="Projection horizon").click()
    page.get_by_role("option", name="24").click()
    horizon = "Projection horizon (months)"
    expect(sidebar.get_by_role("combobox", name=horizon)).to_have_value("24")
    for label in [p.label for p in PAGES]:
        sidebar.get_by_role("link", name=label).click()
        for visit in ("link", "F5"):
            if visit == "F5":
                page.reload()
            sidebar = page.get_by_test_id("stSidebar")
            expect(sidebar.get_by_text("Data: delta.csv")).to_be_visible(timeout=120_000)
            assert "ws=" in page.url, (label, visit, page.url)
            expect(sidebar.get_by_role("combobox", name=horizon)).to_have_value("24")
            if label in ("Overview", "Your data"):
                expect(metric_value(page, "Customers")).to_have_text("7", timeout=120_000)
            assert page.get_by_text("No customer id or email column found").count() == 0, (label, visit)
            expect(page.get_by_test_id("stException")).to_have_count(0)
    second = ctx.new_page()  # a second tab with the same address
    second.goto(page.url.split("?")[0].rsplit("/", 1)[0] + "/?" + page.url.split("?", 1)[1])
    expect(metric_value(second, "Customers")).to_have_text("7", timeout=120_000)
    expect(second.get_by_test_id("stSidebar").get_by_text("Data: delta.csv")).to_be_visible()
    ctx.close()


def test_keyboard_steps_on_a_slider_all_count_and_stay(browser, server):
    """Arrow keys on a sidebar slider while the page reruns after each step: every step counts (6 presses, 6
    steps), on a slider in the open assumptions and one in a collapsed expander, and the value stays on another
    page."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 1400})
    page = ctx.new_page()
    page.goto(server + "/Customer_value")
    sidebar = page.get_by_test_id("stSidebar")
    for label, expander, start, end in (("Yearly discount rate %", None, "10", "16"),
                                        ("Big spender: top % by revenue", "Behavioural segments", "10", "16")):
        if expander:
            sidebar.get_by_text(expander, exact=True).click()
        knob = sidebar.get_by_test_id("stSlider").filter(has_text=label).locator("input[type=range]")
        expect(knob).to_have_value(start, timeout=120_000)
        knob.focus()
        for _ in range(6):
            page.keyboard.press("ArrowRight")
            page.wait_for_timeout(150)  # the page reruns after each step
        expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=120_000)
        expect(knob).to_have_value(end)
    sidebar.get_by_role("link", name="Who is slipping away?").click()
    knob = page.get_by_test_id("stSidebar").get_by_test_id("stSlider").filter(has_text="Yearly discount rate %")
    expect(knob.locator("input[type=range]")).to_have_value("16", timeout=120_000)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    ctx.close()


def test_a_long_table_downloads_whole_when_clicked(browser, server, tmp_path):
    """Every customer's value (4,991 customers on the sample shop, 50 shown on the page) downloads whole."""
    import csv

    from clv.store import Shop
    named = len(Shop.sample().customers())
    ctx = browser.new_context(viewport={"width": 1280, "height": 1400}, accept_downloads=True)
    page = ctx.new_page()
    page.goto(server + "/Customer_value")
    button = page.get_by_test_id("stDownloadButton").filter(has_text="value for every customer (CSV)")
    expect(button).to_be_visible(timeout=120_000)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=120_000)
    assert named > 2_000
    with page.expect_download() as info:
        button.get_by_role("button").click()
    path = tmp_path / "at_risk.csv"
    info.value.save_as(path)
    rows = list(csv.DictReader(path.open(newline="", encoding="utf-8")))
    assert len(rows) == named and {"customer_id", "clv", "clv_low", "clv_high", "churn_risk"} <= set(rows[0])
    ctx.close()


def test_hostile_values_make_no_request_leave_the_page(browser, server, tmp_path):
    """Ids, channels, codes, countries and a file name that are Markdown images, links or HTML: every page renders
    them as text — no <img>/<a> made from them in the DOM, and no request to any host but this server."""
    from urllib.parse import urlparse

    from ui.pages import DATA_PAGES
    pixel = "![x](http://tracker.example/p.png)"
    link = '<a href="http://evil.example/">Germany</a><img src="http://tracker.example/i.png">'
    rows = ["customer_id,order_date,amount,channel,discount_code,country"]
    for i in range(60):
        cid = pixel if i % 10 == 0 else f"c{i}"
        for d in (1, 15):
            rows.append(f"{cid},2024-0{1 + i % 6}-{d:02d},{10 + i % 7},[web](http://evil.example),"
                        f"http://evil.example/code,\"{link.replace(chr(34), chr(34) * 2)}\"")
    path = tmp_path / "[evil](javascript:alert(1)) ![x](tracker.png).csv"  # a file name holds no slash
    path.write_text("\n".join(rows) + "\n")
    ctx = browser.new_context(viewport={"width": 1280, "height": 1400})
    outside = []
    ctx.on("request", lambda r: outside.append(r.url) if urlparse(r.url).hostname not in ("127.0.0.1", "localhost")
           and not r.url.startswith(("data:", "blob:")) else None)
    page = ctx.new_page()
    page.goto(server + "/Data")
    expect(metric_value(page, "Customers")).to_have_text(sample_customers())
    upload(page, path)
    expect(metric_value(page, "Customers")).to_have_text("55", timeout=120_000)  # 54 + the hostile id
    for p in DATA_PAGES:
        page.get_by_test_id("stSidebar").get_by_role("link", name=p.label).click()
        expect(page.get_by_test_id("stSidebar").get_by_text(p.label, exact=True)).to_be_visible()
        expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=120_000)
        page.wait_for_timeout(800)
        made = page.evaluate("""() => [...document.querySelectorAll(
            'a[href*="evil"], a[href^="javascript"], img[src*="tracker"]')].map(e => e.outerHTML)""")
        assert made == [], (p.label, made)
    assert outside == [], outside
    ctx.close()
