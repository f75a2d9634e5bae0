"""The Spark engine on a real standalone cluster (a master and two workers, each its own JVM, at spark://…) instead
of local[*]: Parquet partitions read by executors, rows shuffled between them, the scoring shipped to their Python
workers — and the scores equal the DuckDB path's (issue 28, item 4); a generated shop (600 customers with events)
as a folder of Parquet parts. Skipped without pyspark or Java. (tests/test_spark.py holds the local[2] session.)"""
import shutil

import pandas as pd
import pytest

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Java is not installed (apt-get install -y default-jre-headless)", allow_module_level=True)

from test_spark import assert_same_fit, assert_same_scores  # noqa: E402

from clv.store import Shop  # noqa: E402


def test_a_standalone_cluster_scores_parquet_partitions_as_duckdb_does(tmp_path):
    import sys

    from clv.export import read_scored
    from clv.scoring import score_table
    from clv.spark import score_files, session
    from clv.spark.standalone import executor_conf, standalone_cluster
    from clv.store import DATA_DIR
    sys.path.insert(0, str(DATA_DIR))
    from generate import generate
    generate(tmp_path, 600, seed=7, preset="realistic", fmt="generic", prefix="shop")
    orders = pd.read_csv(tmp_path / "shop_orders.csv", parse_dates=["order_date"])
    orders["customer_id"] = orders["customer_id"].astype(str)
    lake = tmp_path / "orders"  # a lake's table: a folder of Parquet parts, several per executor
    lake.mkdir()
    for i, part in enumerate(range(0, len(orders), len(orders) // 4 + 1)):
        orders.iloc[part:part + len(orders) // 4 + 1].to_parquet(lake / f"part-{i:05d}.parquet", index=False)
    events = tmp_path / "shop_interactions.csv"
    with standalone_cluster(workers=2, cores=1, memory="1g") as master:
        assert master.startswith("spark://127.0.0.1:")
        spark = session(master, **executor_conf(cores=1, memory="768m", shuffle_partitions=4))
        try:
            assert spark.sparkContext.master == master
            done = score_files(spark, str(lake), tmp_path / "scores.parquet", events)
            # the work ran on the driver and two executors, one per worker
            assert spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size() == 3
        finally:
            spark.stop()
    assert set(done["stages"]) == {"read and classify the orders", "customer table",
                                   "fit on the driver (distinct rows), cut-offs, clusters",
                                   "score every customer and write"}
    shop = Shop()
    shop.load_orders(sorted(lake.glob("*.parquet")))
    shop.load_interactions(events)
    assert_same_fit(shop, done)
    assert_same_scores(score_table(shop, churn="palive"), read_scored(tmp_path / "scores.parquet"))
