"""The Spark engine (clv.spark) against the DuckDB path: the same customer table, value for value.

One local[2] SparkSession for the module (starting a JVM costs seconds); skipped without pyspark or Java.
"""
import shutil

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Java is not installed (apt-get install -y default-jre-headless)", allow_module_level=True)

from clv.errors import DataError  # noqa: E402
from clv.store import CUSTOMER_COLUMNS, SAMPLE_INTERACTIONS, SAMPLE_ORDERS, Shop  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    from clv.spark import session
    s = session("local[2]", **{"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
                               "spark.sql.shuffle.partitions": "4", "spark.driver.memory": "2g"})
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()


def spark_customers(spark, orders, interactions=None, as_of=None) -> pd.DataFrame:
    from clv.spark.customers import customer_table
    from clv.spark.ingest import last_date, load_interactions, load_orders
    o = load_orders(spark, orders).orders
    ev = load_interactions(spark, interactions) if interactions else None
    return customer_table(o, ev, as_of or last_date(o)).toPandas()


def assert_same_table(duck: pd.DataFrame, sp: pd.DataFrame) -> None:
    """Every column of the two customer tables equal, value for value (NULLs in the same places)."""
    assert list(sp.columns) == CUSTOMER_COLUMNS
    sp = sp.sort_values("customer_id", ignore_index=True)
    assert len(sp) == len(duck)
    for col in CUSTOMER_COLUMNS:
        a, b = duck[col], sp[col]
        if a.dtype.kind == "M":
            b = pd.to_datetime(b).astype(a.dtype)
        same = (a.isna() & b.isna()) | (a.to_numpy(object) == b.to_numpy(object))
        assert same.all(), f"{col}: {(~same).sum()} customers differ, e.g. {duck.customer_id[~same].head(3).tolist()}"


def test_sample_shop_customer_table(spark):
    assert_same_table(Shop.sample().customers(), spark_customers(spark, SAMPLE_ORDERS, SAMPLE_INTERACTIONS))


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
