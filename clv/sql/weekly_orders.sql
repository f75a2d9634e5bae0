-- Purchases per week (weeks start on Monday) up to $as_of (NULL: all), for the backtest's timeline.
SELECT date_trunc('week', order_ts)::DATE AS week, count(*) AS orders
FROM orders WHERE is_purchase AND ($as_of IS NULL OR order_ts < $as_of::DATE + 1)
GROUP BY ALL ORDER BY week
