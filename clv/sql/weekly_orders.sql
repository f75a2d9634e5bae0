-- Purchases per week (weeks start on Monday) up to $as_of (NULL: all), for the backtest's timeline; a week without
-- a purchase is a row with 0. complete: the whole week lies between the first purchase day and the last day
-- counted (the as-of day, else the last purchase day) — a week cut by either end holds only part of its orders and
-- would read as a drop.
WITH purchases AS (
    SELECT order_ts FROM orders WHERE is_purchase AND ($as_of IS NULL OR order_ts < $as_of::DATE + 1)
), bounds AS (
    SELECT min(order_ts)::DATE AS first_day, coalesce($as_of::DATE, max(order_ts)::DATE) AS last_day FROM purchases
), counted AS (
    SELECT date_trunc('week', order_ts)::DATE AS week, count(*) AS orders FROM purchases GROUP BY ALL
), weeks AS (
    SELECT CAST(unnest(range(min(week)::TIMESTAMP, max(week) + INTERVAL 1 DAY, INTERVAL 7 DAY)) AS DATE) AS week
    FROM counted
)
SELECT week, coalesce(orders, 0) AS orders, week >= first_day AND week + 6 <= last_day AS complete
FROM weeks LEFT JOIN counted USING (week), bounds
ORDER BY week
