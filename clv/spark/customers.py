"""The customer table of clv/sql/customers.sql on Spark: one row per customer, the same columns and values.

Each step below names the CTE of customers.sql it mirrors; read that file for what every column means.
tests/test_spark.py checks the two engines give the same table, value for value.
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from ..store import CUSTOMER_COLUMNS

__all__ = ["customer_table"]

_EVENT_COUNTS = {"views": "view", "add_to_cart": "add_to_cart", "email_opens": "email_open",
                 "email_clicks": "email_click", "support_tickets": "support_ticket", "reviews": "review",
                 "return_requests": "return"}


def customer_table(orders: DataFrame, interactions: DataFrame | None, period_end: dt.date) -> DataFrame:
    """One row per customer with a purchase up to ``period_end`` (inclusive), columns as CUSTOMER_COLUMNS."""
    before = F.lit(period_end + dt.timedelta(days=1)).cast("timestamp")
    purchases = orders.where(F.col("is_purchase") & (F.col("order_ts") < before)) \
        .select("customer_id", "order_ts", "net", "discount", "refund", "channel")
    returns = orders.where(~F.col("is_purchase") & (F.col("net") < 0) & (F.col("order_ts") < before)) \
        .groupBy("customer_id").agg((-F.sum("net")).alias("returned"))
    per_customer = purchases.groupBy("customer_id").agg(
        F.count(F.lit(1)).alias("orders"),
        (F.count(F.when(F.col("discount") > 0, 1)).cast("double") / F.count(F.lit(1)).cast("double"))
        .alias("discount_share"),
        F.sum(F.coalesce("refund", F.lit(0).cast("decimal(18,4)"))).alias("refunds"),
        F.min("order_ts").alias("first_order"), F.max("order_ts").alias("last_order"),
        # DuckDB's arg_min skips rows whose channel is NULL
        F.min_by("channel", F.when(F.col("channel").isNotNull(), F.col("order_ts"))).alias("first_channel"))
    days = purchases.groupBy("customer_id", F.col("order_ts").cast("date").alias("day")).agg(
        F.sum("net").alias("day_net"))
    day_stats = days.groupBy("customer_id").agg(
        F.min("day").alias("first_day"), F.max("day").alias("last_day"),
        (F.count(F.lit(1)) - 1).alias("frequency"), F.sum("day_net").alias("day_net_total"),
        F.min_by("day_net", "day").alias("first_day_net"))
    table = day_stats.join(per_customer, "customer_id").join(returns, "customer_id", "left")
    if interactions is not None:
        events = interactions.where(F.col("event_ts") < before)
        table = table.join(_event_stats(events), "customer_id", "left") \
            .join(_carts(events, purchases), "customer_id", "left")
    return _columns(table, period_end, interactions is not None)


def _event_stats(events: DataFrame) -> DataFrame:
    """event_stats of customers.sql: counts per event type, mean satisfaction and rating, last times."""
    def kind(name: str) -> Column:
        return F.col("event_type") == name
    counts = [F.count(F.when(kind(t), 1)).alias(c) for c, t in _EVENT_COUNTS.items()]
    return events.groupBy("customer_id").agg(
        *counts,
        F.avg(F.when(kind("support_ticket"), F.col("value"))).alias("mean_satisfaction"),
        F.avg(F.when(kind("review"), F.col("value"))).alias("mean_rating"),
        F.max("event_ts").alias("last_interaction"),
        F.max(F.when(kind("email_open") | kind("email_click"), F.col("event_ts"))).alias("last_email_engagement"))


def _carts(events: DataFrame, purchases: DataFrame) -> DataFrame:
    """carts of customers.sql: an add-to-cart is abandoned when no purchase follows within 24 hours.

    The ASOF JOIN (first purchase at or after the cart) becomes a window over carts and purchases in time order:
    the next purchase time at or after each row, carts sorting before purchases at the same instant."""
    carts = events.where(F.col("event_type") == "add_to_cart") \
        .select("customer_id", F.col("event_ts").alias("ts"), F.lit(0).alias("is_purchase"))
    bought = purchases.join(carts.select("customer_id").distinct(), "customer_id", "left_semi") \
        .select("customer_id", F.col("order_ts").alias("ts"), F.lit(1).alias("is_purchase"))
    ahead = Window.partitionBy("customer_id").orderBy("ts", "is_purchase") \
        .rowsBetween(Window.currentRow, Window.unboundedFollowing)
    timeline = carts.unionByName(bought).withColumn(
        "next_purchase", F.min(F.when(F.col("is_purchase") == 1, F.col("ts"))).over(ahead))
    abandoned = (F.col("is_purchase") == 0) & (F.col("next_purchase").isNull()
                                               | (F.col("next_purchase") > F.col("ts") + F.expr("INTERVAL 24 HOURS")))
    return timeline.groupBy("customer_id").agg(
        F.count(F.when(abandoned, 1)).alias("carts_abandoned"),
        F.max(F.when(abandoned, F.col("ts"))).alias("last_abandoned_cart"),
        F.max(F.col("is_purchase") == 0).alias("_has_cart")).where("_has_cart").drop("_has_cart")


def _columns(t: DataFrame, period_end: dt.date, with_events: bool) -> DataFrame:
    """The final SELECT of customers.sql, in CUSTOMER_COLUMNS order; money sums as exact decimals, divisions in
    DOUBLE as DuckDB divides them."""
    returned = F.coalesce("returned", F.lit(0).cast("decimal(38,4)"))
    total = F.col("day_net_total")
    freq = F.col("frequency")
    cols = {
        "customer_id": F.col("customer_id"),
        "email": F.when(F.col("customer_id").contains("@"), F.col("customer_id")),
        "first_order": F.col("first_order"), "last_order": F.col("last_order"), "orders": F.col("orders"),
        "revenue": (total - returned).cast("double"),
        "aov": total.cast("double") / F.col("orders").cast("double"),
        "frequency": freq,
        "recency_days": F.datediff("last_day", "first_day").cast("long"),
        "T_days": F.datediff(F.lit(period_end), F.col("first_day")).cast("long"),
        "monetary_value": F.when(freq > 0, (total - F.col("first_day_net")).cast("double") / freq.cast("double"))
        .otherwise(F.lit(0.0)),
        "discount_share": F.col("discount_share"),
        "refund_total": (F.col("refunds") + returned).cast("double"),
        "channel": F.col("first_channel"),
    }
    for name in CUSTOMER_COLUMNS[len(cols):]:
        value = F.col(name) if with_events else F.lit(None)
        if name in _EVENT_COUNTS or name == "carts_abandoned":
            value = F.coalesce(value, F.lit(0)).cast("long")
        elif name.startswith("mean_"):
            value = value.cast("double")
        else:
            value = value.cast("timestamp")
        cols[name] = value
    return t.select(*(e.alias(n) for n, e in cols.items()))
