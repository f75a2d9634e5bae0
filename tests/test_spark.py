"""The Spark engine (clv.spark) against the DuckDB path: the same customer table, value for value.

One local[2] SparkSession for the module (starting a JVM costs seconds); the command line runs on a standalone
cluster. Skipped without pyspark or Java.
"""
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Java is not installed (apt-get install -y default-jre-headless)", allow_module_level=True)

from clv.errors import DataError  # noqa: E402
from clv.store import CUSTOMER_COLUMNS, SAMPLE_ORDERS, Shop  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    from clv.spark import session
    s = session("local[2]", **{"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
                               "spark.sql.shuffle.partitions": "4", "spark.driver.memory": "2g"})
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()


def spark_customers(spark, orders, interactions=None, as_of=None, mapping=None) -> pd.DataFrame:
    from clv.spark.customers import customer_table
    from clv.spark.ingest import last_date, load_interactions, load_orders
    o = load_orders(spark, orders, mapping=mapping).orders
    ev = load_interactions(spark, interactions) if interactions else None
    return customer_table(o, ev, as_of or last_date(o)).toPandas()


def assert_same_scores(duck: pd.DataFrame, sp: pd.DataFrame) -> None:
    """The customer table's columns equal value for value (NULLs in the same places); every other column too,
    floats to 1e-9 relative (segments, clusters and flags exactly)."""
    assert list(sp.columns) == list(duck.columns)
    assert len(sp) == len(duck)
    for col in duck.columns:
        a, b = duck[col], sp[col]
        if a.dtype.kind == "M":
            b = pd.to_datetime(b).astype(a.dtype)
        if col not in CUSTOMER_COLUMNS and a.dtype.kind == "f":
            same = np.isclose(a.to_numpy(float), b.to_numpy(float), rtol=1e-9, atol=0, equal_nan=True)
        else:
            same = ((a.isna() & b.isna()) | (a.astype(object) == b.astype(object))).to_numpy()
        assert same.all(), f"{col}: {(~same).sum()} customers differ, e.g. {duck.customer_id[~same].head(3).tolist()}"


def assert_same_fit(shop: Shop, done: dict) -> None:
    from clv.value import fit_value_model
    vm = fit_value_model(shop.customers())
    assert done["customers"] == vm.purchases.n_customers_
    for name, value in vm.purchases.params_.items():
        assert done["purchases"][name] == pytest.approx(value, rel=1e-9), name


def test_refuses_what_it_cannot_read_the_same_way(spark, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("customer_id,order_date,amount\na,31/01/2024,12.50\nb,2024-02-01,3\n")
    with pytest.raises(DataError, match="not ISO times") as err:
        spark_customers(spark, path)
    assert err.value.column == "order_date"
    path.write_text("customer_id,order_date,amount\na,2024-01-31,\"12,50\"\nb,2024-02-01,3\n")
    with pytest.raises(DataError, match="not a plain number") as err:
        spark_customers(spark, path)
    assert err.value.column == "amount"
    path.write_text("customer_id,order_date,amount,status\na,2024-01-31,12.50,cancelled\nb,2024-02-01,3,voided\n")
    from clv.spark import score_files
    with pytest.raises(DataError, match="No customer has a purchase"):
        score_files(spark, path, tmp_path / "scores.parquet")


def test_quoted_line_breaks_stay_in_their_row(spark, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text('order_id,customer_id,order_date,amount,note\n1,a,2024-01-31,12.50,"gift,\nwrap it"\n'
                    '2,b,2024-02-01,3,\n3,a,2024-02-03,4,"say ""hi"""\n')
    table = spark_customers(spark, path).set_index("customer_id")
    assert table["orders"].to_dict() == {"a": 2, "b": 1}
    assert table.loc["a", "revenue"] == 16.5


def test_cli_refuses_what_spark_does_not_do(tmp_path, capsys):
    from clv.cli import main
    from clv.export import read_scored
    args = ["score", "--engine", "spark", "--orders", str(SAMPLE_ORDERS), "--out", str(tmp_path / "s.parquet")]
    assert main([*args, "--churn-model", "model"]) == 2
    assert "purchase model only" in capsys.readouterr().err
    assert main([*args, "--date-format", "dmy"]) == 2
    pd.DataFrame({"customer_id": ["a"]}).to_parquet(tmp_path / "plain.parquet")
    with pytest.raises(DataError, match="not a scored table"):
        read_scored(tmp_path / "plain.parquet")


def test_the_cli_on_a_standalone_cluster_from_a_fresh_machine(tmp_path):
    """python -m clv score --engine spark --master spark://… on a real standalone cluster (a master and two workers,
    each its own JVM; issue 28, item 4), a generated shop (300 customers with events) as a folder of Parquet parts:
    the table the DuckDB path scores, to 1e-9 (the Shopify sample's rules on both engines: the fixture test below). Run as a user runs it — the venv's python, not
    activated — with a ``python3`` first on the PATH that has no packages, as on a fresh machine: Spark's Python
    workers must run the driver's interpreter, not whatever ``python3`` the PATH finds (they failed with "No module
    named 'pandas'"). The application's settings come from a spark-defaults.conf, as on any cluster. Each order
    carries a cost of 30-70 % of its amount: the margin is measured from the same costs and said in the same words as
    on one machine, and its projections use it."""
    import os
    import subprocess
    import sys

    from clv.export import read_scored
    from clv.scoring import score_table
    from clv.spark.standalone import standalone_cluster
    bare = tmp_path / "bare-python"
    bare.mkdir()
    (bare / "python3").write_text(f"#!/bin/sh\nexec {sys._base_executable} -S \"$@\"\n")
    (bare / "python3").chmod(0o755)
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "spark-defaults.conf").write_text("spark.sql.shuffle.partitions 4\nspark.executor.memory 768m\n"
                                              "spark.executor.cores 1\nspark.ui.enabled false\n"
                                              "spark.ui.showConsoleProgress false\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON")}
    env.update(PATH=f"{bare}:{env.get('PATH', '')}", SPARK_CONF_DIR=str(conf), SPARK_LOCAL_IP="127.0.0.1")
    assert subprocess.run(["python3", "-c", "import pandas"], env=env, capture_output=True).returncode != 0
    # a lake's table: a generated shop's orders (typed: timestamps, numbers) in three Parquet parts, and its events
    from clv.store import DATA_DIR
    sys.path.insert(0, str(DATA_DIR))
    from generate import generate
    generate(tmp_path, 300, seed=7, preset="realistic", fmt="generic", prefix="shop")
    rows = pd.read_csv(tmp_path / "shop_orders.csv", parse_dates=["order_date"], dtype={"customer_id": str})
    rows["cost"] = (rows["amount"] * np.random.default_rng(1).uniform(0.3, 0.7, len(rows))).round(2)
    lake = tmp_path / "orders"
    lake.mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(rows)), 3)):
        rows.iloc[part].to_parquet(lake / f"part-{i:05d}.parquet", index=False)
    events = tmp_path / "shop_interactions.csv"
    out = tmp_path / "scores.parquet"
    with standalone_cluster(workers=2, cores=1, memory="1g", folder=tmp_path / "cluster") as master:
        r = subprocess.run([sys.executable, "-m", "clv", "score", "--engine", "spark", "--master", master,
                            "--model", "bgnbd", "--orders", str(lake), "--interactions", str(events),
                            "--out", str(out)], env=env, cwd=Path(__file__).resolve().parent.parent,
                           capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "distinct (frequency, recency, T) rows" in r.stderr and "stages: read and classify the orders" in r.stderr
    # executors ran on both workers
    assert all(list((tmp_path / "cluster" / f"work{i}").glob("app-*")) for i in range(2))
    shop = Shop()
    shop.load_orders(sorted(lake.glob("*.parquet")))
    shop.load_interactions(events)
    from clv import defaults
    from clv.margins import shop_margin
    margin = shop_margin(shop, defaults.MARGIN)
    assert margin.from_costs and margin.words() in r.stderr.splitlines()
    assert_same_scores(score_table(shop, margin=margin.rate, churn="palive"), read_scored(out))


FIXTURES = Path(__file__).parent / "fixtures"
#: fixtures Spark reads with the default engine's rules: the customer table must be the same, value for value
SAME_ON_BOTH = ["gumroad_sales.csv", "online_retail_II.csv", "shopify_orders_export_1.csv", "squarespace_orders.csv",
                "stripe_unified_payments.csv", "woocommerce_advanced_order_export.csv",
                "woocommerce_analytics_orders.csv", "woocommerce_customer_order_export.csv",
                # issue 24: refund rows netted by reference, zone names, cents, numeric statuses, amounts in parts
                "woocommerce_order_export_refunds.csv", "recurly_invoices.csv", "chargebee_invoices.csv",
                "paddle_transactions.csv", "lemonsqueezy_orders.csv", "shopware6_orders.csv", "opencart_oc_order.csv",
                "amazon_fulfilled_shipments.txt"]


def _shape_files(tmp_path) -> dict:
    """The app-shape matrix's generated shops (tests/test_app_shapes.py) as CSV files."""
    from test_app_shapes import GENERATED, _csv
    out = {}
    for name, rows in GENERATED.items():
        out[name] = tmp_path / f"{name.replace(' ', '_')}.csv"
        out[name].write_bytes(_csv(rows))
    return out


def test_every_fixture_reads_the_same_on_both_engines_or_is_refused_in_words(spark, tmp_path):
    """The contract between the engines over every platform fixture and the generated shapes: Spark's customer
    table equals DuckDB's exactly, or Spark refuses the file with a message naming the column (or the layout) it
    cannot read the default engine's way — never a different table."""
    from concurrent.futures import ThreadPoolExecutor
    sides = {p.name: p for p in sorted(FIXTURES.iterdir()) if p.is_file()} | _shape_files(tmp_path)

    def on_spark(path):  # Spark's jobs for small files are mostly waiting: several at once share the JVM
        try:
            return spark_customers(spark, path)
        except DataError as exc:
            return exc
    with ThreadPoolExecutor(4) as pool:
        spark_side = dict(zip(sides, pool.map(on_spark, sides.values())))
    same, refused = [], {}
    for name, path in sides.items():
        shop = Shop()
        try:
            shop.load_orders(path)
            duck = shop.customers()
        except DataError:
            assert isinstance(spark_side[name], DataError), name  # not an orders file (a summary table): refused by both
            refused[name] = "both engines"
            continue
        try:
            sp = spark_side[name]
            if isinstance(sp, DataError):
                raise sp
        except DataError as exc:
            assert exc.column or "default engine" in str(exc), (name, str(exc))
            refused[name] = exc.column or str(exc)[:60]
            continue
        key = ["customer_id"]
        assert_same_scores(duck.sort_values(key, ignore_index=True), sp.sort_values(key, ignore_index=True))
        same.append(name)
    assert set(SAME_ON_BOTH) <= set(same) and {"daily buyers", "all one-time buyers", "b2b"} <= set(same), refused
    print(f"same table on both engines: {len(same)}; refused in words: {refused}")


def test_the_founders_choices_read_the_same_on_both_engines(spark, tmp_path):
    """Exchange rates, status choices, the revenue basis and e-mail keys: one rule book, the same customer table."""
    from clv.ingest import detect_format
    path = tmp_path / "orders.csv"
    path.write_text("Name,Email,Created at,Total,Taxes,Shipping,Currency,Financial Status\n"
                    "#1,A@X.com,2024-01-01 10:00:00 PST,10.00,1.00,2.00,USD,paid\n"
                    "#2,b@x.com,2024-01-02 10:00:00 +0100,20.00,2.00,0,EUR,paid\n"
                    "#3,c@x.com,2024-01-03 10:00:00 BST,30.00,0,5.00,GBP,paid\n"
                    "#4,a@x.com,2024-02-03 10:00:00 PDT,5.00,0,0,USD,hold_7\n"
                    "#5,b@x.com,2024-02-05 10:00:00,8.00,0,0,EUR,paid\n"
                    "#6,d@x.com,2024-03-01 10:00:00,9.00,0.50,0,USD,paid\n")  # USD the most frequent
    columns = ["Name", "Email", "Created at", "Total", "Taxes", "Shipping", "Currency", "Financial Status"]
    for options in (dict(fx_rates=(("EUR", 1.1), ("GBP", 1.27)), statuses=(("hold_7", "not_purchase"),)),):
        mapping = detect_format(columns).with_options(**options)
        shop = Shop()
        shop.load_orders(path, mapping=mapping)
        duck = shop.customers()
        sp = spark_customers(spark, path, mapping=mapping)
        assert len(duck) >= 2
        assert_same_scores(duck.sort_values("customer_id", ignore_index=True),
                           sp.sort_values("customer_id", ignore_index=True))


def test_product_costs_read_the_same_on_both_engines(spark, tmp_path):
    """A cost column per order; a cost per unit × quantity on order lines (amounts per line, a second currency
    converted at the founder's rate); a products file's cost per SKU matched without case or extra blanks (a line
    with an unknown SKU leaves its order without a cost): each order's cost, the purchases' cost totals and so the
    measured margin are the same on both engines."""
    from decimal import Decimal

    from clv.ingest import detect_format
    from clv.ingest.costs import read_product_costs
    from clv.ingest.orders import cost_totals as duck_totals
    from clv.margins import margin_from_totals
    from clv.spark.ingest import cost_totals, load_orders
    one = ["order_id,customer_id,order_date,amount,cost,status"]
    for i in range(40):
        cost = "" if i % 7 == 0 else f"{8 + i / 4:.2f}"
        one.append(f"o{i},c{i % 13},2024-{1 + i % 9:02d}-{1 + i % 27:02d},{20 + i}.50,{cost},"
                   f"{'refunded' if i % 11 == 0 else 'paid'}")
    lines = ["order_id,customer_id,order_date,amount,quantity,unit_cost,currency"]
    for i in range(40):
        for j in range(1 + i % 3):
            unit = "" if (i, j) == (5, 1) else f"{1.5 + j:.2f}"
            lines.append(f"L{i},c{i % 11},2024-{1 + i % 9:02d}-{2 + i % 25:02d},{10 + j}.00,{1 + j},{unit},"
                         f"{'EUR' if i % 4 == 0 else 'USD'}")
    skus = ["order_id,customer_id,order_date,amount,sku"]
    for i in range(40):
        for j in range(1 + i % 2):
            sku = ["A-1", " b  2 ", "c-3", "UNKNOWN"][(i + j) % 4 if i % 9 == 0 else (i + j) % 3]
            skus.append(f"S{i},c{i % 17},2024-{1 + i % 9:02d}-{3 + i % 24:02d},{15 + i}.00,{sku}")
    (tmp_path / "products.csv").write_text("Variant SKU,Cost per item\nA-1,4.00\nB 2,2.50\nc-3,7.25\n")
    costs = read_product_costs(tmp_path / "products.csv").costs
    cases = {"one.csv": (one, {}), "lines.csv": (lines, dict(amount_per="line", fx_rates=(("EUR", 1.1),))),
             "skus.csv": (skus, dict(amount_per="line", product_costs=costs))}
    for name, (rows, options) in cases.items():
        path = tmp_path / name
        path.write_text("\n".join(rows) + "\n")
        mapping = detect_format(tuple(rows[0].split(","))).with_options(**options)
        shop = Shop()
        shop.load_orders(path, mapping=mapping)
        duck = dict(shop.con.execute("SELECT order_id, cost FROM orders").fetchall())
        loaded = load_orders(spark, path, mapping=mapping)
        sp = {r["order_id"]: r["cost"] for r in loaded.orders.select("order_id", "cost").collect()}
        assert sp == duck, name
        known = [v for v in duck.values() if v is not None]
        assert 30 <= len(known) < len(duck), name  # enough to measure, and some orders without a cost
        day = shop.last_date()
        want, got = duck_totals(shop.con, day), cost_totals(loaded.orders, day)
        assert got == pytest.approx(want, rel=1e-12), name
        assert margin_from_totals(got, 0.4) == margin_from_totals(want, 0.4)
        assert margin_from_totals(got, 0.4).from_costs, name
    assert duck[next(k for k in duck if k == "S0")] == Decimal("4.0000")  # "A-1" at 4.00 × 1
