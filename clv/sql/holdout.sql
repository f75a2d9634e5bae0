-- What each customer who had bought by $calibration_end did afterwards, up to $holdout_end (both dates, inclusive):
-- repeat purchase days (distinct days, as in the calibration features) and net revenue in the holdout.
-- The orders are read from `orders` or the backtest's sample of them, as in customers.sql.
WITH cohort AS (
    SELECT DISTINCT customer_id FROM orders
    WHERE is_purchase AND order_ts < $calibration_end::DATE + 1
), later AS (
    SELECT customer_id, order_ts::DATE AS day, sum(net) AS day_net
    FROM orders
    WHERE is_purchase AND order_ts >= $calibration_end::DATE + 1 AND order_ts < $holdout_end::DATE + 1
    GROUP BY ALL
)
SELECT c.customer_id,
       count(l.day) AS holdout_purchases,
       coalesce(sum(l.day_net), 0) AS holdout_revenue
FROM cohort c LEFT JOIN later l USING (customer_id)
GROUP BY ALL
ORDER BY c.customer_id
