"""Score a shop slice by slice, in memory bounded by the slice size rather than by the number of customers.

The models are fitted on population figures that stay small at any size — the distinct (frequency, recency, T)
rows with their counts (the purchase model), the distinct (frequency, monetary value) pairs (Gamma-Gamma), a
hash-chosen sample of 20,000 customers (KMeans, as clv.segments.fit_clusters samples), exact order statistics
for the RFM edges and the behavioural thresholds — and then each slice of customers is scored with the same
functions the in-memory path calls (clv.value.value_model / price, clv.scoring.assemble), given those. Every
column of a customer depends on their own row and the population figures alone, so a slice gets what it would
get among all customers: the streamed table equals clv.scoring.score_table's to 1e-9 (tests/test_streamed.py).

Two engines run this: the DuckDB one here (``score_streamed``: the customer table is a DuckDB table, spilled to
disk under the memory limit, read back in slices; the scored slices stream into the output file) and Spark's
executors (clv.spark.score: the same ``Fitted``, ``segment_columns`` and ``score_slice``).

The churn risk is the purchase model's (``churn="palive"``): the interaction-aware churn model needs three whole
customer tables and a boosted-tree fit.
"""
from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from . import defaults
from .errors import DataError, ModelError
from .segments import (BEHAVIOURAL_SEGMENTS, QUINTILES, SegmentParams, _features, cluster_names, days_since_last,
                       fit_kmeans, rfm_segments, score_by_edges, value_rank)
from .value import PURCHASE_MODELS, fit_spend, price, value_model

__all__ = ["Fitted", "segment_columns", "score_slice", "score_streamed", "Streamed", "CLUSTER_SAMPLE",
           "BATCH_CUSTOMERS"]

#: customers sampled for KMeans, as clv.segments.fit_clusters
CLUSTER_SAMPLE = 20_000
BATCH_CUSTOMERS = defaults.BATCH_CUSTOMERS


@dataclass
class Fitted:
    """What scoring a customer needs besides their own row: fitted models and population figures."""
    purchases: object
    spend: object
    rows_fitted: int                  # distinct (frequency, recency, T) rows the purchase model was fitted on
    pairs_fitted: int                 # distinct (frequency, monetary value) rows the spend model was given
    rfm_edges: dict                   # r/f/m -> (distinct quintile edges, largest value)
    cuts: dict                        # behavioural segment -> population threshold (big_spender, high_aov)
    scaler: tuple                     # (mean, scale) of the cluster features over every customer
    kmeans: object
    rank: dict                        # KMeans cluster -> cluster number by value
    names: dict                       # cluster number -> name
    k: int
    warnings: list = field(default_factory=list)


def segment_columns(c: pd.DataFrame, f: Fitted, params: SegmentParams = SegmentParams()) -> pd.DataFrame:
    """clv.segments.segment_table for a slice of the customers, with the population's edges and thresholds."""
    rec = (c["T_days"] - c["recency_days"]).to_numpy(float)
    values = {"r": -rec, "f": c["orders"].to_numpy(float), "m": c["revenue"].to_numpy(float)}
    scores = pd.DataFrame({f"{k}_score": score_by_edges(values[k], *f.rfm_edges[k]) for k in "rfm"}, index=c.index)
    out = pd.concat([c[["customer_id"]], scores], axis=1)
    out["rfm_segment"] = rfm_segments(scores)
    raw = f.kmeans.predict((_features(c, "rfm").to_numpy() - f.scaler[0]) / f.scaler[1]) if len(c) else []
    out["cluster"] = pd.Series(raw, index=c.index, dtype=int).map(f.rank).astype(int)
    out["cluster_name"] = out["cluster"].map(f.names)
    rules = dict(BEHAVIOURAL_SEGMENTS)  # the two rules that compare with the population, given its thresholds
    rules["big_spender"] = replace(rules["big_spender"], test=lambda c, p: c["revenue"] >= f.cuts["big_spender"])
    rules["high_aov"] = replace(rules["high_aov"], test=lambda c, p: c["aov"] > f.cuts["high_aov"])
    tagged = c.assign(rfm_segment=out["rfm_segment"])
    beh = pd.DataFrame({name: seg.test(tagged, params).fillna(False).astype(np.int32) for name, seg in rules.items()},
                       index=c.index)
    return pd.concat([out, beh], axis=1)


def score_slice(c: pd.DataFrame, f: Fitted, as_of, horizon_months: int, discount_rate: float, margin: float,
                window_days: int = defaults.CHURN_WINDOW_DAYS):
    """(scored table, value model) of a slice of customers: clv.scoring.score_table(churn="palive")'s rows."""
    from .scoring import assemble
    c = c.reset_index(drop=True)
    vm = value_model(f.purchases, f.spend, c, horizon_months)
    table = assemble(c, segment_columns(c, f), price(vm, horizon_months, margin, discount_rate), vm, None, as_of,
                     window_days, horizon_months)
    return table, vm


def quantile_edges(stats: dict, qs, n: int) -> list[float]:
    """np.quantile (linear interpolation) at ``qs`` of a column of ``n`` values, from its order statistics
    ``stats`` (rank -> value, at the ranks ``quantile_ranks`` asks for)."""
    out = []
    for q in qs:
        p = (n - 1) * q
        lo = int(np.floor(p))
        out.append(float(np.quantile(np.array([stats[lo], stats[min(lo + 1, n - 1)]], float), p - lo)))
    return out


def quantile_ranks(qs, n: int) -> list[int]:
    """The 0-based ranks whose values np.quantile interpolates between at ``qs``, and the largest."""
    ranks = {n - 1}
    for q in qs:
        p = (n - 1) * q
        ranks |= {int(np.floor(p)), min(int(np.floor(p)) + 1, n - 1)}
    return sorted(ranks)


# --- the DuckDB engine -------------------------------------------------------------------------------------------

#: the customer table while a streamed score runs (a table of the database, not TEMP: the slices are read on a
#: cursor of their own while the writer runs on the shop's connection)
_TABLE = "_streamed_customers"


def _order_statistics(con, expr: str, ranks: list[int], where: str = "TRUE") -> dict:
    """{rank: value} of ``expr`` over the streamed customer table (0-based ranks in ascending order), counted from
    the distinct values and their counts — exact, and DuckDB spills the grouping when it must. ``expr`` and
    ``where`` are this module's own SQL, never a user's text."""
    rows = con.execute(f"""
        WITH h AS (SELECT v, count(*) AS c FROM (SELECT CAST({expr} AS DOUBLE) AS v FROM {_TABLE} WHERE {where})
                   GROUP BY v),
             cum AS (SELECT v, c, sum(c) OVER (ORDER BY v ROWS UNBOUNDED PRECEDING) - c AS below FROM h)
        SELECT r, v FROM cum, unnest(?::BIGINT[]) AS u(r) WHERE below <= r AND r < below + c""",
                       [list(ranks)]).fetchall()
    return {int(r): float(v) for r, v in rows}


def _quantiles(con, expr: str, qs, n: int) -> tuple[list[float], float]:
    """(np.quantile(column, qs), largest value) of ``expr`` over the ``n`` customers."""
    stats = _order_statistics(con, expr, quantile_ranks(qs, n))
    return quantile_edges(stats, qs, n), stats[n - 1]


def _slices(con, columns: list[str], batch_rows: int):
    """The streamed customer table's ``columns`` as DataFrames of ``batch_rows`` customers, in customer-id order,
    converted as clv.store.frame converts a whole table."""
    import pyarrow as pa

    from .store import frame, q
    cur = con.cursor()
    try:
        reader = cur.sql(f"SELECT {', '.join(q(c) for c in columns)} FROM {_TABLE}").to_arrow_reader(batch_rows)
        pending, have = [], 0
        for batch in reader:  # DuckDB's batches are its own size: regrouped to batch_rows
            pending.append(batch)
            have += batch.num_rows
            while have >= batch_rows:
                table = pa.Table.from_batches(pending)
                head, rest = table.slice(0, batch_rows), table.slice(batch_rows)
                yield _frame_of(head, frame)
                pending, have = rest.to_batches(), rest.num_rows
        if have:
            yield _frame_of(pa.Table.from_batches(pending, schema=reader.schema), frame)
    finally:
        cur.close()


def _frame_of(table, frame) -> pd.DataFrame:
    """An Arrow table as clv.store.frame converts a DuckDB result (through a connection of its own)."""
    import duckdb
    con = duckdb.connect()
    try:
        return frame(con.from_arrow(table))
    finally:
        con.close()


@dataclass
class Streamed:
    """A streamed score: the scored slices (``batches()``, once) and what the run says beside its table."""
    customers: int
    fitted: Fitted
    readiness: object
    notes: list
    purchase_model: str
    types: dict = field(default_factory=dict)   # the customer table's columns' Arrow fields (by name)
    stages: dict = field(default_factory=dict)  # seconds per stage (the scoring's once every slice is written)
    _batches: object = None
    shop_intervals: dict | None = None   # set when every slice has been scored
    slice_customers: int = BATCH_CUSTOMERS  # customers per slice (``_slice_size``)

    def batches(self):
        yield from self._batches()


def _fit(con, n: int, chosen, k: int | None, seed: int, params: SegmentParams, batch_rows: int, lap) -> Fitted:
    """The purchase and spend models, the RFM edges, the behavioural thresholds and the clusters, from the streamed
    customer table (clv.spark.score.fit's figures, counted by DuckDB). ``chosen()``: the purchase model's key, asked
    for last — everything else is computed meanwhile (the comparison that chooses it may still be running)."""
    pairs = con.execute(f"SELECT frequency, monetary_value, count(*) AS n FROM {_TABLE} GROUP BY ALL "
                        "ORDER BY ALL").df()
    spend = fit_spend(pairs["frequency"].to_numpy(float), pairs["monetary_value"].to_numpy(float),
                      weights=pairs["n"].to_numpy(float))
    r, m = _quantiles(con, "-(T_days - recency_days)", [*QUINTILES, 0.5], n), \
        _quantiles(con, "revenue", [*QUINTILES, 1 - params.big_spender_top_pct / 100], n)
    f = _quantiles(con, "orders", QUINTILES, n)
    aov = _quantiles(con, "aov", [params.high_aov_pct / 100], n)
    edges = {name: (np.unique(qv[0][:4]), float(qv[1])) for name, qv in (("r", r), ("f", f), ("m", m))}
    cuts = {"big_spender": m[0][4], "high_aov": aov[0][0]}
    fitted = Fitted(None, spend, 0, len(pairs), edges, cuts, None, None, {}, {}, 0,
                    list(getattr(spend, "warnings_", [])))
    lap("spend model, RFM edges")
    # the median days since a last purchase (clv.segments.recent_within): the quantile at 0.5 of its negation
    _clusters(con, fitted, n, k, seed, batch_rows, -float(r[0][4]))
    lap("clusters (sample fit, every customer predicted)")
    model = chosen()
    lap("the purchase model's choice, waited for")
    triples = con.execute(f"SELECT frequency, recency_days, T_days, count(*) AS n FROM {_TABLE} GROUP BY ALL "
                          "ORDER BY ALL").df()
    fitted.purchases = PURCHASE_MODELS[model]().fit(triples["frequency"], triples["recency_days"], triples["T_days"],
                                                    weights=triples["n"])
    fitted.rows_fitted = len(triples)
    lap("purchase model from distinct rows")
    return fitted


def _clusters(con, f: Fitted, n: int, k: int | None, seed: int, batch_rows: int, within: float) -> None:
    """clv.segments.fit_clusters from the streamed table: standardise over everyone, fit KMeans on the hash-chosen
    sample (in customer-id order), predict everyone slice by slice, number clusters by mean revenue, name them."""
    logs = {"recency": "ln(1 + greatest(T_days - recency_days, 0))", "frequency": "ln(1 + greatest(orders, 0))",
            "monetary": "ln(1 + greatest(revenue, 0))"}
    stats = con.execute("SELECT " + ", ".join([f"avg({e})" for e in logs.values()]
                                              + [f"stddev_pop({e})" for e in logs.values()]) + f" FROM {_TABLE}"
                        ).fetchall()[0]
    mean, scale = np.array(stats[:3], float), np.array(stats[3:], float)
    scale = np.where(scale > 0, scale, 1.0)  # as StandardScaler: a constant feature is left unscaled
    cols = "customer_id, orders, revenue, T_days, recency_days"
    # every customer, or the CLUSTER_SAMPLE with the lowest hashes of their id (clv.segments._stable_sample)
    sample = con.execute(f"SELECT {cols} FROM {_TABLE} ORDER BY hash(CAST(customer_id AS VARCHAR)) LIMIT ?",
                         [min(n, CLUSTER_SAMPLE)]).df()
    sample = sample.sort_values("customer_id", kind="stable", ignore_index=True)
    X = (_features(sample, "rfm").to_numpy() - mean) / scale
    km, k, _ = fit_kmeans(X, sample["customer_id"], n, k, seed)
    sums = np.zeros((km.n_clusters, 4))  # revenue, orders, customers, recent customers per KMeans cluster
    for c in _slices(con, ["orders", "revenue", "T_days", "recency_days"], batch_rows):
        raw = km.predict((_features(c, "rfm").to_numpy() - mean) / scale)
        sums[:, 0] += np.bincount(raw, c["revenue"].to_numpy(float), km.n_clusters)
        sums[:, 1] += np.bincount(raw, c["orders"].to_numpy(float), km.n_clusters)
        sums[:, 2] += np.bincount(raw, minlength=km.n_clusters)
        sums[:, 3] += np.bincount(raw, (days_since_last(c).to_numpy() <= within).astype(float), km.n_clusters)
    used = np.flatnonzero(sums[:, 2] > 0)
    rank = value_rank(pd.Series(sums[used, 0] / sums[used, 2], index=used))
    mean_orders, recent_share = (pd.Series(sums[used, i] / sums[used, 2], index=used).rename(index=rank).sort_index()
                                 for i in (1, 3))
    f.scaler, f.kmeans, f.k, f.rank = (mean, scale), km, k, rank
    f.names = cluster_names(km, rank, mean_orders, recent_share)


def _readiness(con, n: int, parameter_sd, problem, gaps):
    """clv.readiness.assess's figures, counted by DuckDB: customers, repeat customers, days of history and the
    median of the repeat customers' mean gaps."""
    from .readiness import Readiness
    repeat, longest = con.execute(f"SELECT count(*) FILTER (WHERE frequency > 0), max(T_days) FROM {_TABLE}"
                                  ).fetchall()[0]
    typical = None
    if repeat:
        mid = [(repeat - 1) // 2, repeat // 2]
        stats = _order_statistics(con, "recency_days / frequency", mid, "frequency > 0")
        typical = float(np.median([stats[mid[0]], stats[mid[1]]]))
    return Readiness(customers=n, repeat_customers=int(repeat), history_days=int(np.ceil(longest)) + 1 if n else 0,
                     typical_gap_days=typical, gaps=list(gaps), parameter_sd=parameter_sd, model_problem=problem)


def score_streamed(shop, as_of=None, horizon_months: int = defaults.HORIZON_MONTHS,
                   discount_rate: float = defaults.DISCOUNT_RATE, margin: float = defaults.MARGIN,
                   model: str = "auto", k: int | None = None, window_days: int = defaults.CHURN_WINDOW_DAYS,
                   batch_rows: int = BATCH_CUSTOMERS, seed: int = 0,
                   workers: int = defaults.SCORE_WORKERS) -> Streamed:
    """clv.scoring.score_table(churn="palive") for a shop of any size, slice by slice.

    Returns a ``Streamed`` whose ``batches()`` yields the scored slices (DataFrames of ``batch_rows`` customers, in
    customer-id order) once; after the last, ``shop_intervals`` holds the shop's 80/95 % intervals. The customer
    table lives in DuckDB meanwhile (under the Shop's memory limit, spilling beyond it) and is dropped at the end.
    ``model``: a clv.value.PURCHASE_MODELS key, or "auto" (chosen by the backtest on a sample, as the app does).
    ``workers``: slices scored at once (threads); the memory of the slices is about ``workers`` x ``batch_rows``."""
    from .pipeline import Pipeline, Settings
    from .scoring import comparison_notes
    from .store import EVENT_COLUMNS, orders_sql, q, with_event_columns
    from .uncertainty import interval_parts, intervals_from
    from .value import MONTH_DAYS
    con = shop.con
    stages, started = {}, [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        stages[name] = stages.get(name, 0.0) + now - started[0]
        started[0] = now
    run = Pipeline(shop, Settings(as_of=str(as_of) if as_of else None, horizon_months=horizon_months,
                                  purchase_model=model, churn_model="palive", tabulate_months=horizon_months))
    day = run.get("as_of")
    gaps = run.get("gaps")
    rel = shop.customers_relation(as_of=as_of)
    kinds = dict(zip(rel.columns, (str(t) for t in rel.types)))
    events = con.execute("SELECT count(*) FROM interactions").fetchall()[0][0] > 0
    kept = [c for c in rel.columns if events or c not in EVENT_COLUMNS]
    # the comparison that chooses the purchase model reads its sample here, then runs on a thread (numpy, scipy and
    # pandas, no query) while DuckDB builds the customer table and the segments are fitted (bench/pipeline.py)
    choosing = budget = None
    if model == "auto":
        run.get("backtest_tables")
        lap("the backtest's sample")
        from concurrent.futures import ThreadPoolExecutor

        from threadpoolctl import threadpool_limits
        # BLAS limits are the process's: the two threads' own limits (the fits', KMeans') restore what they saw on
        # entering, out of order — one limit held around both keeps those at MODEL_THREADS and restores the
        # process's own at the end
        budget = threadpool_limits(limits=defaults.MODEL_THREADS or os.cpu_count())
        choosing = ThreadPoolExecutor(1, thread_name_prefix="clv-comparison")
        choice = choosing.submit(run.get, "purchase_model")
    try:
        con.execute(f"CREATE OR REPLACE TABLE {_TABLE} AS SELECT {', '.join(q(c) for c in kept)} "
                    f"FROM ({orders_sql('customers')})", {"period_end": day})
        lap("customer table")
        n = con.execute(f"SELECT count(*) FROM {_TABLE}").fetchall()[0][0]
        if not n:
            raise DataError("No customer has a purchase up to the as-of date: every order was excluded, cancelled, "
                            "unpaid, refunded or a return.", expected="at least one paid order with a customer id, "
                                                                      "a date and an amount.")
        fitted = _fit(con, n, choice.result if choosing else lambda: run.get("purchase_model"), k, seed,
                      SegmentParams(), batch_rows, lap)
        chosen = run.get("purchase_model")
        # the spread of the shop's total, from a seeded sample of customers (clv.uncertainty.total_interval's
        # parts); the totals themselves are summed as the slices pass
        t = horizon_months * MONTH_DAYS
        rng = np.random.default_rng(0)
        pick = np.sort(rng.choice(n, 5000, replace=False)) if n > 5000 else np.arange(n)
        sample = _rows_at(con, pick, kept, kinds, events)
        svm = value_model(fitted.purchases, fitted.spend, sample, horizon_months)
        s_expected = svm.if_alive_by_month[:, horizon_months - 1][svm.pair_of] * svm.p_alive
        try:
            parts = interval_parts(fitted.purchases, fitted.spend, sample, n, t, rng, s_expected,
                                   svm.expected_average_value)
            problem = None
        except ModelError as exc:
            parts, problem = None, str(exc)
        ready = _readiness(con, n, parts.parameter_sd if parts else None, problem, gaps)
        notes = [*fitted.warnings, *comparison_notes(run)]
        out = Streamed(n, fitted, ready, notes, chosen, stages=stages,
                       slice_customers=_slice_size(n, batch_rows, workers),
                       types={f.name: f for f in con.sql(f"SELECT * FROM {_TABLE} LIMIT 0").arrow().schema})
        lap("readiness and the interval's spread (sample)")
    except BaseException:
        _drop(con)
        raise
    finally:
        if choosing is not None:
            choosing.shutdown(wait=True)  # (an error above: the comparison is left to finish, its result unused)
        if budget is not None:
            budget.restore_original_limits()

    def work(c: pd.DataFrame):
        if not events:
            c = with_event_columns(c, kinds)
        table, vm = score_slice(c, fitted, day, horizon_months, discount_rate, margin, window_days)
        expected = vm.if_alive_by_month[:, horizon_months - 1][vm.pair_of] * vm.p_alive
        return table, (expected.sum(), expected @ vm.expected_average_value)

    def batches():
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor
        totals = np.zeros(2)
        # ``workers`` slices scored at once (numpy and scipy let go of the GIL for most of a slice's work), the next
        # slice read while they run; yielded — and their totals summed — in order
        try:
            with ThreadPoolExecutor(max(1, workers)) as pool:
                pending = deque()
                for c in _slices(con, kept, out.slice_customers):
                    pending.append(pool.submit(work, c))
                    del c
                    if len(pending) >= max(1, workers):
                        table, sums = pending.popleft().result()
                        totals += sums
                        yield table
                while pending:
                    table, sums = pending.popleft().result()
                    totals += sums
                    yield table
        finally:
            _drop(con)
            lap("score every slice and write it")
        if parts is not None:
            intervals = intervals_from(parts, totals[0], totals[1], rng)
            out.shop_intervals = _calibrated(run, intervals)
    out._batches = batches
    return out


def _slice_size(n: int, batch_rows: int, workers: int) -> int:
    """Customers per slice: ``batch_rows``, or fewer when the shop has fewer than ``workers`` such slices — then it
    is cut in ``workers`` slices (of at least 50,000) so that every worker has one (333,333 customers: two slices
    scored at once instead of one)."""
    return min(batch_rows, max(50_000, -(-n // max(1, workers))))


def _drop(con) -> None:
    """Drop the streamed customer table (on a cursor: the writer may be running a query on ``con``)."""
    cur = con.cursor()
    try:
        cur.execute(f"DROP TABLE IF EXISTS {_TABLE}")
    finally:
        cur.close()


def _calibrated(run, intervals: dict) -> dict:
    """The intervals widened to the backtest's miss, as the pipeline's shop_intervals step does."""
    from .uncertainty import calibrate
    if run.settings.purchase_model != "auto":
        return intervals
    try:
        bt = run.get("comparison").backtests.get(run.get("purchase_model"))
    except ModelError:
        return intervals
    if bt is None or bt.interval is None:
        return intervals
    actual = bt.totals["actual_repeat_purchases"]
    return {name: calibrate(v, bt.interval, actual) for name, v in intervals.items()}


def _rows_at(con, positions: np.ndarray, columns: list[str], kinds: dict, events: bool) -> pd.DataFrame:
    """The customers at ``positions`` (0-based) of the streamed table: its rowids, as it was written in customer-id
    order and never changed."""
    from .store import frame, q, with_event_columns
    rel = con.sql(f"SELECT {', '.join(q(c) for c in columns)} FROM {_TABLE} WHERE rowid IN "
                  "(SELECT unnest($rows::BIGINT[])) ORDER BY rowid", params={"rows": positions.tolist()})
    sample = frame(rel)
    return sample if events else with_event_columns(sample, kinds)


def write_streamed(con, streamed: Streamed, path, raw: bool = False, projections: bool = True) -> tuple[int, float]:
    """The scored slices written to ``path`` as they come (clv.export.write_table: CSV or Parquet by its name);
    ``projections=False`` leaves the projection columns empty (data that cannot support them). Returns the number
    of customers written and the sum of their projected values."""
    import pyarrow as pa

    from .export import write_table
    from .scoring import PROJECTION_COLUMNS
    written, clv_total = 0, 0.0
    schema = None

    def arrow_batches():
        nonlocal written, clv_total, schema
        for table in streamed.batches():
            clv_total += float(table["clv"].sum())
            if not projections:
                table = table.assign(**{c: None for c in PROJECTION_COLUMNS if c in table})
            # a slice's text columns are Arrow already (chunked): a table, not a record batch
            arrow = pa.Table.from_pandas(table, preserve_index=False).replace_schema_metadata(None)
            if schema is None:  # a column all NULL here takes the customer table's type
                schema = pa.schema([streamed.types[f.name].with_name(f.name)
                                    if pa.types.is_null(f.type) and f.name in streamed.types else f
                                    for f in arrow.schema])
            if arrow.schema != schema:  # a column all NULL in the first slice only
                arrow = arrow.cast(schema)
            written += arrow.num_rows
            yield from arrow.to_batches()

    it = arrow_batches()
    first = next(it)
    reader = pa.RecordBatchReader.from_batches(schema, itertools.chain([first], it))
    write_table(con, reader, path, raw=raw)
    return written, clv_total

