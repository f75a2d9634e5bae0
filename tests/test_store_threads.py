"""A Shop is used from several threads: Streamlit may start a session's next run while the last is still querying."""
import threading

import duckdb

from clv.store import Shop


def test_a_second_thread_queries_while_the_first_is_busy(sample_shop):
    started, done, errors, busy_con = threading.Event(), threading.Event(), [], []

    def busy():
        con = sample_shop.con
        busy_con.append(con)
        started.set()
        try:  # a query that would keep this thread's connection busy for hours: stopped below, once the reads are done
            con.execute("SELECT sum(hash(a.range + b.range)) FROM range(10000000) a, range(10000000) b").fetchall()
        except duckdb.InterruptException:
            pass
        except Exception as e:  # noqa: BLE001 - the test reports whatever broke
            errors.append(e)
        done.set()

    t = threading.Thread(target=busy)
    t.start()
    started.wait()
    # the main thread (the one that built the Shop) and a third thread both read while the first is busy
    from_other = []
    other = threading.Thread(target=lambda: from_other.append(sample_shop.last_date()))
    other.start()
    last, customers = sample_shop.last_date(), len(sample_shop.customers())
    other.join()
    was_busy = not done.is_set()  # the busy query cannot end by itself, so the reads really overlapped it
    while not done.wait(0.05):  # again until it stops: an interrupt before the query has started is lost
        busy_con[0].interrupt()
    t.join()
    assert errors == []
    assert was_busy
    assert from_other == [last]
    assert last == sample_shop.purchase_span()[1] and customers > 0


def test_a_table_loaded_on_one_thread_is_seen_from_another(tmp_path):
    shop = Shop()
    path = tmp_path / "orders.csv"
    path.write_text("customer_id,order_date,amount\na,2024-01-01,10\nb,2024-02-01,20\na,2024-03-01,5\n")
    t = threading.Thread(target=lambda: shop.load_orders(path))
    t.start()
    t.join()
    assert shop.last_date().isoformat() == "2024-03-01"
    assert sorted(shop.customers()["customer_id"]) == ["a", "b"]


def test_a_copy_has_the_same_data_in_a_database_of_its_own(sample_shop):
    import pandas as pd
    copy = sample_shop.copy()
    pd.testing.assert_frame_equal(copy.customers(), sample_shop.customers())
    types = "SELECT table_name, column_name, data_type FROM information_schema.columns ORDER BY ALL"
    assert copy.con.execute(types).fetchall() == sample_shop.con.execute(types).fetchall()
    assert copy.orders_report is sample_shop.orders_report and copy.last_date() == sample_shop.last_date()
    copy.con.execute("DELETE FROM orders_all")  # a session changing its copy leaves the original alone
    assert len(sample_shop.customers()) > 0


def test_a_closed_or_dropped_shop_leaves_no_spill_folder():
    """Each Shop spills into a folder of its own, removed when it is closed (a session's end) or collected."""
    import gc
    from pathlib import Path

    from clv.store import Shop
    closed, dropped = Shop(memory_limit="64MB"), Shop()
    folders = [Path(closed._spill), Path(dropped._spill)]
    assert all(f.is_dir() for f in folders) and folders[0] != folders[1]
    closed.con.execute("CREATE TABLE t AS SELECT range AS i, repeat('x', 200) AS s FROM range(2000000)")
    closed.con.execute("SELECT s, count(*) FROM t GROUP BY s ORDER BY 1").fetchall()
    closed.close()
    del dropped
    gc.collect()
    assert not any(f.exists() for f in folders)
