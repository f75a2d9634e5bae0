-- Repeat purchase days in each week after $calibration_end (week 1 = days 1-7 after it, ...), up to $holdout_end,
-- by the customers who had bought by $calibration_end — the actual curve a backtest's cumulative prediction meets.
-- The orders are read from `orders` or the backtest's sample of them, as in customers.sql.
WITH cohort AS (
    SELECT DISTINCT customer_id FROM orders
    WHERE is_purchase AND order_ts < $calibration_end::DATE + 1
), later AS (
    SELECT DISTINCT customer_id, order_ts::DATE AS day
    FROM orders
    WHERE is_purchase AND order_ts >= $calibration_end::DATE + 1 AND order_ts < $holdout_end::DATE + 1
)
SELECT (datediff('day', $calibration_end::DATE, l.day) - 1) // 7 + 1 AS week, count(*) AS repeat_purchases
FROM later l SEMI JOIN cohort c USING (customer_id)
GROUP BY ALL
ORDER BY week
