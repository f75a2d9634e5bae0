"""The pipeline on Apache Spark, for order logs that live in a data lake (Parquet, CSV, Delta).

The same customer table, models and scores as the DuckDB path (clv.store, clv.scoring), written with Spark's
DataFrame API: ``ingest`` reads and classifies orders and events with the app's column mapping and rules,
``customers`` builds the customer table of clv/sql/customers.sql, ``score`` fits the models on the driver from
the distinct (frequency, recency, T) rows and scores every customer with ``mapInPandas``. tests/test_spark.py
holds both engines to the same table (exactly) and the same scores.

Why the query is written twice rather than transpiled: customers.sql leans on DuckDB-only SQL (ASOF JOIN,
arg_min, GROUP BY ALL, FILTER, $parameters) that sqlglot does not carry over to Spark SQL faithfully, and the
ingest rules are Python-built SQL around DuckDB macros. One equality test over both engines is the contract.

pyspark is needed only here (requirements-dev.txt); nothing else in clv imports this package.
"""
from __future__ import annotations

__all__ = ["session"]


def session(master: str | None = None, app: str = "clv", **conf):
    """A SparkSession: ``master`` (default local[*]) in UTC, as DuckDB's session is (times are UTC wall times).

    Extra ``conf`` entries are Spark settings (dots written as underscores are not translated: pass a dict)."""
    from pyspark.sql import SparkSession
    builder = SparkSession.builder.appName(app).master(master or "local[*]") \
        .config("spark.sql.session.timeZone", "UTC") \
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
