-- Revenue, orders and customers per calendar month (purchases only, up to $as_of; NULL: all); new_customers bought
-- for the first time.
WITH p AS (
    SELECT customer_id, order_ts, net, min(order_ts) OVER (PARTITION BY customer_id) AS first_ts
    FROM orders WHERE is_purchase AND ($as_of IS NULL OR order_ts < $as_of::DATE + 1)
)
SELECT date_trunc('month', order_ts)::DATE AS month, sum(net) AS revenue, count(*) AS orders,
       count(DISTINCT customer_id) AS customers,
       count(DISTINCT customer_id) FILTER (WHERE date_trunc('month', first_ts) = date_trunc('month', order_ts))
           AS new_customers
FROM p GROUP BY ALL ORDER BY month
