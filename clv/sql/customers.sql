-- One row per customer with at least one purchase up to $period_end (inclusive; a date).
-- $period_end is the as-of date, or the calibration end of a backtest: nothing after it is used.
-- Time is in days between purchase dates (UTC), the BG/NBD convention:
--   frequency = distinct purchase days - 1, recency_days = last - first purchase day,
--   T_days = $period_end - first purchase day, monetary_value = mean net value of the repeat purchase days.
-- channel is the channel of the customer's first order (where they were acquired).
-- Counts and day spans are 32-bit and money is DOUBLE in the output (half the memory of 64-bit counts at 3.3M
-- customers; clv.store.frame fetches no DECIMAL).
-- The orders are read from `orders`, or from the backtest's seeded sample of them (clv.store.orders_sql,
-- Shop.backtest_tables).
WITH purchases AS NOT MATERIALIZED (  -- read three times: cheaper to re-scan than to copy 10M rows
    SELECT customer_id, order_ts, net, discount, refund, channel
    FROM orders
    WHERE is_purchase AND order_ts < $period_end::DATE + 1
), returns AS (
    SELECT customer_id, -sum(net) AS returned
    FROM orders
    WHERE NOT is_purchase AND net < 0 AND order_ts < $period_end::DATE + 1
    GROUP BY ALL
), per_customer AS (
    -- everything counted per order comes straight from the orders (one group per customer: cheap) ...
    SELECT customer_id, count(*) AS orders, count(*) FILTER (WHERE discount > 0) / count(*) AS discount_share,
           sum(coalesce(refund, 0)) AS refunds, min(order_ts) AS first_order, max(order_ts) AS last_order,
           arg_min(channel, order_ts) AS first_channel
    FROM purchases GROUP BY ALL
), days AS (
    -- ... and what is counted per purchase day (the BG/NBD time unit) from one narrow row per customer and day
    SELECT customer_id, order_ts::DATE AS day, sum(net) AS day_net FROM purchases GROUP BY ALL
), day_stats AS (
    SELECT customer_id, min(day) AS first_day, max(day) AS last_day, count(*) - 1 AS frequency,
           sum(day_net) AS day_net_total, arg_min(day_net, day) AS first_day_net
    FROM days GROUP BY ALL
), events AS (
    SELECT * FROM interactions WHERE event_ts < $period_end::DATE + 1
), event_stats AS (
    SELECT customer_id,
           count(*) FILTER (WHERE event_type = 'view') AS views,
           count(*) FILTER (WHERE event_type = 'add_to_cart') AS add_to_cart,
           count(*) FILTER (WHERE event_type = 'email_open') AS email_opens,
           count(*) FILTER (WHERE event_type = 'email_click') AS email_clicks,
           count(*) FILTER (WHERE event_type = 'support_ticket') AS support_tickets,
           avg(value) FILTER (WHERE event_type = 'support_ticket') AS mean_satisfaction,
           count(*) FILTER (WHERE event_type = 'review') AS reviews,
           avg(value) FILTER (WHERE event_type = 'review') AS mean_rating,
           count(*) FILTER (WHERE event_type = 'return') AS return_requests,
           max(event_ts) AS last_interaction,
           max(event_ts) FILTER (WHERE event_type = 'email_open' OR event_type = 'email_click') AS last_email_engagement
    FROM events GROUP BY ALL
), carts_added AS (
    SELECT customer_id, event_ts FROM events WHERE event_type = 'add_to_cart'
), carts AS (
    -- an add-to-cart is abandoned when no purchase follows within 24 hours
    SELECT a.customer_id,
           count(*) FILTER (WHERE p.order_ts IS NULL OR p.order_ts > a.event_ts + INTERVAL 24 HOUR) AS carts_abandoned,
           max(a.event_ts) FILTER (WHERE p.order_ts IS NULL OR p.order_ts > a.event_ts + INTERVAL 24 HOUR)
               AS last_abandoned_cart
    FROM carts_added a
    ASOF LEFT JOIN (SELECT customer_id, order_ts FROM purchases
                    WHERE customer_id IN (SELECT customer_id FROM carts_added)) p  -- only customers with carts
        ON a.customer_id = p.customer_id AND p.order_ts >= a.event_ts
    GROUP BY ALL
)
SELECT d.customer_id,
       CASE WHEN d.customer_id LIKE '%@%' THEN d.customer_id END AS email,
       first_order, last_order, orders::INTEGER AS orders,
       (d.day_net_total - coalesce(r.returned, 0))::DOUBLE AS revenue,
       d.day_net_total / orders AS aov,
       d.frequency::INTEGER AS frequency,
       date_diff('day', d.first_day, d.last_day)::INTEGER AS recency_days,
       date_diff('day', d.first_day, $period_end::DATE)::INTEGER AS T_days,
       CASE WHEN d.frequency > 0 THEN (d.day_net_total - d.first_day_net) / d.frequency ELSE 0 END AS monetary_value,
       discount_share,
       (refunds + coalesce(r.returned, 0))::DOUBLE AS refund_total,
       first_channel AS channel,
       coalesce(e.views, 0)::INTEGER AS views,
       coalesce(e.add_to_cart, 0)::INTEGER AS add_to_cart,
       coalesce(c.carts_abandoned, 0)::INTEGER AS carts_abandoned,
       c.last_abandoned_cart,
       coalesce(e.email_opens, 0)::INTEGER AS email_opens,
       coalesce(e.email_clicks, 0)::INTEGER AS email_clicks,
       coalesce(e.support_tickets, 0)::INTEGER AS support_tickets,
       e.mean_satisfaction,
       coalesce(e.reviews, 0)::INTEGER AS reviews,
       e.mean_rating,
       coalesce(e.return_requests, 0)::INTEGER AS return_requests,
       e.last_interaction,
       e.last_email_engagement
FROM day_stats d
JOIN per_customer USING (customer_id)
LEFT JOIN returns r USING (customer_id)
LEFT JOIN event_stats e USING (customer_id)
LEFT JOIN carts c USING (customer_id)
ORDER BY d.customer_id
