"""Fit on the driver from grouped counts, score every customer on the executors — the scores of clv.scoring.

What is collected to the driver stays small at any number of customers: the distinct (frequency, recency, T)
rows with their counts (the purchase model), the distinct (frequency, monetary value) pairs (Gamma-Gamma),
a hash-chosen sample of 20,000 customers (KMeans, as clv.segments.fit_clusters samples), and a few order
statistics per RFM column. Everything per customer is computed by ``mapInPandas`` with the function the DuckDB
engine scores its slices with (clv.streamed.score_slice: clv.value.value_model / price, the segment columns,
clv.scoring.assemble), given those fitted models and population figures (clv.streamed.Fitted).

The churn risk is the purchase model's (``score --churn-model palive``): the interaction-aware churn model
needs three customer tables and a boosted-tree fit, which this engine does not do.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from .. import defaults
from ..errors import DataError
from ..segments import QUINTILES, SegmentParams, _features, cluster_names, fit_kmeans, value_rank
from ..streamed import CLUSTER_SAMPLE, Fitted, quantile_edges, quantile_ranks, score_slice
from ..value import PURCHASE_MODELS, fit_spend

__all__ = ["fit", "score", "quantiles"]

def quantiles(df: DataFrame, columns: dict, n: int) -> dict:
    """{name: (np.quantile(column, qs) (linear interpolation), largest value)} for {name: (column, qs)}, from
    order statistics found in Spark in one pass: the distinct values of every column with their counts, counted
    up in order; only the values at the positions asked for (and the largest) reach the driver. Equal to
    numpy's whenever no value lies within a rounding error of an interpolated edge (values are whole days, order
    counts and money to 1/10,000: interpolated edges between two different values never are)."""
    names = list(columns)
    ranks = {name: quantile_ranks(qs, n) for name, (_, qs) in columns.items()}
    tagged = F.explode(F.array(*(F.struct(F.lit(i).alias("c"), (F.col(c) if isinstance(c, str) else c)
                                          .cast("double").alias("v")) for i, (c, _) in enumerate(columns.values()))))
    hist = df.select(tagged.alias("t")).select("t.c", "t.v").groupBy("c", "v").count()
    upto = Window.partitionBy("c").orderBy("v").rowsBetween(Window.unboundedPreceding, Window.currentRow)
    hist = hist.withColumn("below", F.sum("count").over(upto) - F.col("count"))
    hit = F.lit(False)
    for i, name in enumerate(names):
        for r in ranks[name]:
            hit = hit | ((F.col("c") == i) & (F.col("below") <= r) & (F.col("below") + F.col("count") > r))
    found = hist.where(hit).collect()
    out = {}
    for i, (name, (_, qs)) in enumerate(columns.items()):
        rows = [row for row in found if row["c"] == i]
        at = {r: next(row["v"] for row in rows if row["below"] <= r < row["below"] + row["count"])
              for r in ranks[name]}
        out[name] = (quantile_edges(at, qs, n), at[n - 1])
    return out


def _rfm_columns():
    """The R, F and M of clv.segments.rfm_scores: -(days since last purchase), orders, revenue."""
    return {"r": -(F.col("T_days") - F.col("recency_days")).cast("double"), "f": F.col("orders").cast("double"),
            "m": F.col("revenue")}


@defaults.thread_budget
def fit(customers: DataFrame, model: str = "bgnbd", k: int | None = None, seed: int = 0,
        params: SegmentParams = SegmentParams()) -> Fitted:
    """Fit the purchase and spend models, the RFM edges, the behavioural thresholds and the clusters."""
    triples = customers.groupBy("frequency", "recency_days", "T_days").count().toPandas()
    if triples.empty:
        raise DataError("No customer has a purchase up to the as-of date: every order was excluded, cancelled, "
                        "unpaid, refunded or a return.", expected="at least one paid order with a customer id, a "
                                                                  "date and an amount.")
    purchases = PURCHASE_MODELS[model]().fit(triples["frequency"], triples["recency_days"], triples["T_days"],
                                             weights=triples["count"])
    pairs = customers.groupBy("frequency", "monetary_value").count().toPandas()
    spend = fit_spend(pairs["frequency"].to_numpy(float), pairs["monetary_value"].to_numpy(float),
                      weights=pairs["count"].to_numpy(float))
    n = int(triples["count"].sum())
    rfm = _rfm_columns()
    q = quantiles(customers, {"r": (rfm["r"], [*QUINTILES, 0.5]), "f": (rfm["f"], QUINTILES),
                              "m": (rfm["m"], [*QUINTILES, 1 - params.big_spender_top_pct / 100]),
                              "aov": ("aov", [params.high_aov_pct / 100])}, n)
    edges = {name: (np.unique(q[name][0][:4]), float(q[name][1])) for name in "rfm"}
    cuts = {"big_spender": q["m"][0][4], "high_aov": q["aov"][0][0]}
    # the median days since a last purchase (clv.segments.recent_within): the quantile at 0.5 of its negation
    scaler, km, k, rank, names = _clusters(customers, k, seed, -float(q["r"][0][4]))
    return Fitted(purchases, spend, len(triples), len(pairs), edges, cuts, scaler, km, rank, names, k,
                    list(getattr(spend, "warnings_", [])))


def _hashed(customers: DataFrame) -> DataFrame:
    """customer_id with DuckDB's hash of it (clv.segments._stable_sample's order), computed on the executors."""
    def hashes(batches):
        import duckdb
        con = duckdb.connect()
        for b in batches:
            con.register("ids", b[["customer_id"]])
            h = con.execute("SELECT hash(CAST(customer_id AS VARCHAR)) AS h FROM ids").fetchnumpy()["h"]
            con.unregister("ids")
            # unsigned 64-bit hashes in a signed column, order kept: flip the top bit
            yield pd.DataFrame({"customer_id": b["customer_id"], "h": (h ^ np.uint64(1 << 63)).view(np.int64)})
    return customers.select("customer_id").mapInPandas(hashes, "customer_id string, h long")


def _clusters(customers: DataFrame, k: int | None, seed: int, within: float):
    """clv.segments.fit_clusters on Spark: standardise over everyone, fit KMeans on the hash-chosen sample (in
    customer-id order), predict everyone, number clusters by mean revenue, name them."""
    feats = customers.select("customer_id", "orders", "revenue", "T_days", "recency_days")
    logs = {"recency": F.log1p(F.greatest(F.col("T_days") - F.col("recency_days"), F.lit(0)).cast("double")),
            "frequency": F.log1p(F.greatest(F.col("orders"), F.lit(0)).cast("double")),
            "monetary": F.log1p(F.greatest(F.col("revenue"), F.lit(0.0)))}
    stats = feats.select(*(F.avg(e).alias(f"m_{n}") for n, e in logs.items()),
                         *(F.stddev_pop(e).alias(f"s_{n}") for n, e in logs.items()), F.count(F.lit(1))).first()
    n = stats[-1]
    mean = np.array([stats[f"m_{c}"] for c in logs])
    scale = np.array([stats[f"s_{c}"] for c in logs])
    scale = np.where(scale > 0, scale, 1.0)  # as StandardScaler: a constant feature is left unscaled
    sample = feats.join(_hashed(feats).orderBy("h").limit(CLUSTER_SAMPLE), "customer_id") \
        if n > CLUSTER_SAMPLE else feats
    sample = sample.toPandas().sort_values("customer_id", kind="stable", ignore_index=True)
    X = (_features(sample, "rfm").to_numpy() - mean) / scale
    km, k, _ = fit_kmeans(X, sample["customer_id"], n, k, seed)
    raw = _predict(customers, (mean, scale), km).groupBy("raw").agg(
        F.avg("revenue").alias("mean_revenue"), F.avg("orders").alias("mean_orders"),
        F.avg((F.col("days") <= F.lit(within)).cast("double")).alias("recent_share")).toPandas().set_index("raw")
    rank = value_rank(raw["mean_revenue"])
    mean_orders, recent_share = (raw[c].rename(index=rank).sort_index() for c in ("mean_orders", "recent_share"))
    return (mean, scale), km, k, rank, cluster_names(km, rank, mean_orders, recent_share)


def _predict(customers: DataFrame, scaler, km) -> DataFrame:
    """Each customer's KMeans cluster (before numbering by value), with revenue, orders and days since last."""
    mean, scale = scaler

    def predict(batches):
        for b in batches:
            X = (_features(b, "rfm").to_numpy() - mean) / scale
            yield pd.DataFrame({"raw": km.predict(X) if len(b) else np.zeros(0, int), "revenue": b["revenue"],
                                "orders": b["orders"], "days": (b["T_days"] - b["recency_days"]).astype(float)})
    return customers.select("orders", "revenue", "T_days", "recency_days") \
        .mapInPandas(predict, "raw int, revenue double, orders long, days double")


def score(customers: DataFrame, as_of: dt.date, horizon_months: int = defaults.HORIZON_MONTHS,
          discount_rate: float = defaults.DISCOUNT_RATE, margin: float = defaults.MARGIN, model: str = "bgnbd",
          k: int | None = None, window_days: int = defaults.CHURN_WINDOW_DAYS) -> tuple[DataFrame, Fitted]:
    """Every customer of the Spark customer table scored as clv.scoring.score_table(churn="palive") scores them:
    the customer table, segments, value columns, churn risk, value at stake and reason."""
    fitted = fit(customers, model, k)
    spark = customers.sparkSession
    shared = spark.sparkContext.broadcast(fitted)
    schema = _schema(customers, fitted, as_of, horizon_months, discount_rate, margin, window_days)

    def score_batches(batches):
        f = shared.value
        for c in batches:
            yield _arrow_ready(score_slice(c, f, as_of, horizon_months, discount_rate, margin, window_days)[0])
    return customers.mapInPandas(score_batches, schema), fitted


def _arrow_ready(table: pd.DataFrame) -> pd.DataFrame:
    """Categoricals as text (Arrow writes them as dictionaries, which the declared schema does not expect)."""
    return table.assign(**{c: table[c].astype(str) for c in table.columns
                           if isinstance(table[c].dtype, pd.CategoricalDtype)},
                        **{c: table[c].astype("float64") for c in table.columns if table[c].dtype == "float32"})


def _schema(customers: DataFrame, fitted: Fitted, as_of, horizon_months, discount_rate, margin,
            window_days) -> T.StructType:
    """The scored table's Spark schema, read off the same functions run on the first few customers."""
    c = customers.limit(5).toPandas()
    table = _arrow_ready(score_slice(c, fitted, as_of, horizon_months, discount_rate, margin, window_days)[0])
    base = {f.name: f.dataType for f in customers.schema.fields}
    kinds = {"i": T.LongType(), "f": T.DoubleType(), "b": T.BooleanType(), "M": T.TimestampType()}
    return T.StructType([T.StructField(col, base.get(col) or kinds.get(table[col].dtype.kind, T.StringType()))
                         for col in table.columns])
