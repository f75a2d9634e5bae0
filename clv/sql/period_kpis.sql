-- How the shop did between $period_start and $period_end (days, both included): customers who bought, of them new
-- (their first purchase ever is in the period) and returning, purchases, purchase revenue and the returns and refunds
-- dated in the period (negative). Purchases only count as purchases; revenue is net of both.
WITH firsts AS (
    SELECT customer_id, min(order_ts) AS first_ts FROM orders WHERE is_purchase GROUP BY customer_id
), p AS (
    SELECT o.customer_id, o.is_purchase, o.net, f.first_ts
    FROM orders o LEFT JOIN firsts f USING (customer_id)
    WHERE o.order_ts >= $period_start::DATE AND o.order_ts < $period_end::DATE + 1
)
SELECT count(DISTINCT customer_id) FILTER (WHERE is_purchase) AS customers,
       count(DISTINCT customer_id) FILTER (WHERE is_purchase AND first_ts >= $period_start::DATE) AS new_customers,
       count(*) FILTER (WHERE is_purchase) AS purchases,
       coalesce(sum(net) FILTER (WHERE is_purchase), 0) AS purchase_revenue,
       coalesce(sum(net) FILTER (WHERE NOT is_purchase AND net < 0), 0) AS returns
FROM p
