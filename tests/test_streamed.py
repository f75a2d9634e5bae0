"""The streamed score (clv.streamed: slice by slice, memory bounded by the slice) against the in-memory one
(clv.scoring.score_table): the same table to 1e-9, the same readiness and intervals, the same file byte for byte —
on shops big enough to need several slices, with a small slice size (issue 28, item 1)."""
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clv.cli import main
from clv.scoring import score_table
from clv.store import DATA_DIR, Shop
from clv.streamed import _TABLE, _order_statistics, _quantiles, score_streamed, write_streamed

def assert_same_scores(ref: pd.DataFrame, got: pd.DataFrame) -> None:
    """Every column equal: floats to 1e-9 relative, everything else exactly (NULLs in the same places)."""
    assert list(got.columns) == list(ref.columns) and len(got) == len(ref)
    for col in ref.columns:
        a, b = ref[col], got[col]
        if a.dtype.kind == "f":
            same = np.isclose(a.to_numpy(float), b.to_numpy(float), rtol=1e-9, atol=0, equal_nan=True)
        else:
            same = ((a.isna() & b.isna()) | (a.astype(object) == b.astype(object))).to_numpy()
        assert same.all(), f"{col}: {(~same).sum()} customers differ, e.g. {ref.customer_id[~same].head(3).tolist()}"


def flat(d: dict, prefix: str = "") -> dict:
    """A nested dict of numbers as one level (pytest.approx compares no nesting)."""
    out = {}
    for k, v in d.items():
        out.update(flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A generated shop of 1,500 customers with their events (generic CSV)."""
    sys.path.insert(0, str(DATA_DIR))
    from generate import generate
    folder = tmp_path_factory.mktemp("streamed")
    generate(folder, 1500, seed=11, preset="realistic", fmt="generic", prefix="shop")
    return folder / "shop_orders.csv", folder / "shop_interactions.csv"


@pytest.mark.parametrize("events, model, as_of", [(False, "auto", None), (True, "pareto_nbd", None),
                                                  (False, "bgnbd", "2025-09-30")])
def test_slices_score_what_the_whole_table_scores(generated, events, model, as_of):
    """Slices of 400 customers (four slices, the last one short): every column as score_table gives it, the same
    readiness, and the shop's intervals (summed slice by slice, their spread from the same seeded sample) to 1e-9;
    the customer table is dropped afterwards. With an as-of date, nothing after it counts on either path."""
    shop = Shop()
    shop.load_orders(generated[0])
    if events:
        shop.load_interactions(generated[1])
    details: dict = {}
    ref = score_table(shop, as_of, churn="palive", model=model, details=details)
    run = score_streamed(shop, as_of, model=model, batch_rows=400)
    slices = list(run.batches())
    assert [len(s) for s in slices] == [400] * (len(ref) // 400) + [len(ref) % 400]
    assert_same_scores(ref, pd.concat(slices, ignore_index=True))
    assert run.readiness == details["readiness"] and run.customers == len(ref)
    for what, interval in details["shop_intervals"].items():
        assert flat(run.shop_intervals[what].as_dict()) == pytest.approx(flat(interval.as_dict()), rel=1e-9,
                                                                         nan_ok=True), what
    assert not shop.con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [_TABLE]).fetchall()[0][0]


def test_the_command_writes_the_same_file_streamed_or_whole(generated, tmp_path, capsys):
    """``score --batch-customers 500`` and ``--batch-customers 0`` (everyone at once) write the same CSV byte for
    byte and the same Parquet values, and say the same totals."""
    def score(batch: int, out: Path):
        assert main(["score", "--orders", str(generated[0]), "--out", str(out), "--batch-customers", str(batch)]) == 0
        said = capsys.readouterr()
        return json.loads(said.out), said.err
    whole, _ = score(0, tmp_path / "whole.csv")
    sliced, said = score(500, tmp_path / "sliced.csv")
    assert "in slices of 500" in said
    assert (tmp_path / "whole.csv").read_bytes() == (tmp_path / "sliced.csv").read_bytes()
    assert flat(sliced["totals"]) == pytest.approx(flat(whole["totals"]), rel=1e-9, nan_ok=True)
    assert sliced["notes"] == whole["notes"] and sliced["customers"] == whole["customers"]
    shop = Shop()
    shop.load_orders(generated[0])
    run = score_streamed(shop, model="bgnbd", batch_rows=600)
    written, total = write_streamed(shop.con, run, tmp_path / "sliced.parquet")
    ref = score_table(shop, churn="palive", model="bgnbd")
    assert written == len(ref) and total == pytest.approx(ref["clv"].sum(), rel=1e-9)
    from clv.export import write_table
    write_table(shop.con, ref, tmp_path / "whole.parquet")
    whole, got = pd.read_parquet(tmp_path / "whole.parquet"), pd.read_parquet(tmp_path / "sliced.parquet")
    # the same types, but where a column is empty throughout: the whole table's then has no type (object), the
    # streamed one keeps the customer table's (text)
    filled = [c for c in whole.columns if whole[c].notna().any()]
    assert len(filled) > 50 and got[filled].dtypes.to_dict() == whole[filled].dtypes.to_dict()
    assert_same_scores(whole, got)


def test_a_shop_the_rules_reject_gets_empty_projections_streamed_too(tmp_path, capsys):
    """130 customers over a short history: the projection columns are left empty in the streamed file, as in the
    whole one, and the history columns are there."""
    from test_app_readiness import orders
    small = tmp_path / "small.csv"
    small.write_bytes(orders("gap", customers=130))
    outs = []
    for batch in (0, 40):
        out = tmp_path / f"s{batch}.csv"
        assert main(["score", "--model", "bgnbd", "--orders", str(small), "--out", str(out),
                     "--batch-customers", str(batch)]) == 0
        assert "PROJECTIONS LEFT EMPTY" in capsys.readouterr().err
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    s = pd.read_csv(tmp_path / "s40.csv")
    assert len(s) > 100 and s["clv"].isna().all() and s["revenue"].notna().all()


def test_order_statistics_are_numpys_quantiles():
    """The RFM edges from DuckDB's counted order statistics equal np.quantile's (linear interpolation), ties and
    all, and the largest value comes with them."""
    import duckdb
    rng = np.random.default_rng(3)
    con = duckdb.connect()
    for values in (rng.integers(0, 7, 1001).astype(float), rng.lognormal(3, 1.5, 777).round(2), np.array([5.0])):
        con.execute(f"CREATE OR REPLACE TABLE {_TABLE} AS SELECT unnest(?::DOUBLE[]) AS v", [values.tolist()])
        qs = [0.2, 0.4, 0.6, 0.8, 0.9, 0.95]
        edges, largest = _quantiles(con, "v", qs, len(values))
        assert edges == np.quantile(values, qs).tolist() and largest == values.max()
        assert _order_statistics(con, "v", [0], "v > 1e9") == {}


def test_a_column_empty_in_the_first_slice_only_keeps_its_type(tmp_path, capsys):
    """The first customers (by id) have no channel, the later ones do: the first slice's channel column is all
    NULL, and the file is still the one scored whole."""
    sys.path.insert(0, str(DATA_DIR))
    from generate import generate
    generate(tmp_path, 300, seed=5, preset="realistic", fmt="generic", prefix="shop", interactions=False)
    rows = pd.read_csv(tmp_path / "shop_orders.csv", dtype={"customer_id": str})
    first = sorted(rows["customer_id"].unique())[:120]
    rows["channel"] = np.where(rows["customer_id"].isin(first), "", "web")
    orders = tmp_path / "orders.csv"
    rows.to_csv(orders, index=False)
    outs = []
    for batch in (0, 100):
        out = tmp_path / f"s{batch}.parquet"
        assert main(["score", "--model", "bgnbd", "--orders", str(orders), "--out", str(out),
                     "--batch-customers", str(batch)]) == 0
        outs.append(pd.read_parquet(out))
    filled = [c for c in outs[0].columns if outs[0][c].notna().any()]
    assert "channel" in filled and outs[1]["channel"].isna().sum() == 120
    assert outs[1][filled].dtypes.to_dict() == outs[0][filled].dtypes.to_dict()
    assert_same_scores(outs[0], outs[1])


def test_the_comparison_beside_the_clusters_leaves_the_blas_threads_as_they_were(generated):
    """The comparison runs on a thread while KMeans runs on the main one; both limit BLAS threads, a setting of
    the whole process that each restores to what it saw on entering — out of order, that left the process on one
    BLAS thread for good (found in review). Several runs: the count after each is the count before."""
    from threadpoolctl import threadpool_info

    def blas():
        return [(i["filepath"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"]
    shop = Shop()
    shop.load_orders(generated[0])
    before = blas()
    for _ in range(4):
        run = score_streamed(shop, model="auto", batch_rows=400)
        for _ in run.batches():
            pass
        assert blas() == before
