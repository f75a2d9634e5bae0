"""The floor of any `score` built on these models: `python bench/_score_floor.py ORDERS.csv OUT.csv`.

What `python -m clv score` does, minus everything about reading the file safely: the customer table comes from one
DuckDB query straight from the CSV (no validation, no report, no de-duplication check, no orders table, statuses
by their plain names; the bench export has no channel and no interactions: their columns are constants), then the
same models, segments, rows and CSV as the score command. bench/pipeline.py times it next to score and the bare
per-customer aggregate.
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb  # noqa: E402
import pandas as pd  # noqa: E402

from clv import defaults  # noqa: E402
from clv.export import write_csv  # noqa: E402
from clv.scoring import assemble  # noqa: E402
from clv.segments import fit_clusters, segment_table  # noqa: E402
from clv.store import CUSTOMER_COLUMNS  # noqa: E402
from clv.value import fit_value_model, price  # noqa: E402

# one scan: one GROUP BY customer and day, rolled up per customer (as bench/_run.py FUSED_CUSTOMERS_ONE_SCAN)
CUSTOMERS = """
WITH days AS (
    SELECT lower(trim(customer_id)) AS customer_id, order_date::DATE AS day, sum(amount) AS day_net,
           count(*) AS n, count(*) FILTER (WHERE discount > 0) AS n_discounted,
           min(order_date) AS first_ts, max(order_date) AS last_ts
    FROM read_csv($p, types={'customer_id': 'VARCHAR'})
    WHERE status NOT IN ('voided', 'refunded', 'cancelled')
    GROUP BY ALL
), per_customer AS (
    SELECT customer_id, count(*) - 1 AS frequency, min(day) AS first_day, max(day) AS last_day,
           sum(day_net) AS total, arg_min(day_net, day) AS first_day_net, sum(n) AS orders,
           sum(n_discounted) / sum(n) AS discount_share, min(first_ts) AS first_order, max(last_ts) AS last_order
    FROM days GROUP BY ALL
), span AS (SELECT max(last_day) AS period_end FROM per_customer)
SELECT customer_id, NULL::VARCHAR AS email, first_order, last_order, orders, total AS revenue, total / orders AS aov,
       frequency, date_diff('day', first_day, last_day) AS recency_days,
       date_diff('day', first_day, period_end) AS T_days,
       CASE WHEN frequency > 0 THEN (total - first_day_net) / frequency ELSE 0 END AS monetary_value,
       discount_share, 0.0 AS refund_total, NULL::VARCHAR AS channel,
       0::BIGINT AS views, 0::BIGINT AS add_to_cart, 0::BIGINT AS carts_abandoned,
       NULL::TIMESTAMP AS last_abandoned_cart, 0::BIGINT AS email_opens, 0::BIGINT AS email_clicks,
       0::BIGINT AS support_tickets, NULL::DOUBLE AS mean_satisfaction, 0::BIGINT AS reviews,
       NULL::DOUBLE AS mean_rating, 0::BIGINT AS return_requests, NULL::TIMESTAMP AS last_interaction,
       NULL::TIMESTAMP AS last_email_engagement
FROM per_customer, span
ORDER BY customer_id
"""


def main(path: str, out: str) -> None:
    con = duckdb.connect()
    con.execute("SET memory_limit = '1GB'")  # the CLI's default
    customers = pd.DataFrame(con.sql(CUSTOMERS, params={"p": path}).fetchnumpy(), copy=False)[CUSTOMER_COLUMNS]
    day = pd.Timestamp(customers["last_order"].max()).date()
    vm = fit_value_model(customers, months=12)
    segments = segment_table(customers, fit_clusters(customers))
    table = assemble(customers, segments, price(vm, defaults.HORIZON_MONTHS, defaults.MARGIN, defaults.DISCOUNT_RATE), vm, None, day)
    t = time.perf_counter()
    write_csv(con, table, out)
    print(f"{len(table)} customers, CSV out {time.perf_counter() - t:.3f} s")  # bench/pipeline.py reads this line


if __name__ == "__main__":
    main(*sys.argv[1:3])
