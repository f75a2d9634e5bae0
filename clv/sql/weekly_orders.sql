-- Purchases per week (weeks start on Monday), for the backtest's timeline.
SELECT date_trunc('week', order_ts)::DATE AS week, count(*) AS orders
FROM orders WHERE is_purchase
GROUP BY ALL ORDER BY week
