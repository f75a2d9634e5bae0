-- Revenue per acquisition cohort (calendar month of the first purchase) and acquisition channel (the channel of that
-- first purchase, as customers.sql), by months since the first purchase, up to $period_end (inclusive). Money counts
-- as in cohort_ltv.sql: purchases' net minus returns, each in the month it is dated. One row per (cohort, channel,
-- month with money); customers: the cohort × channel's size. Months without money are filled by the caller.
-- Margin: an order's own (net − cost) where it carries a product cost, else net × $margin (clv.margins).
WITH purchases AS (
    SELECT customer_id, order_ts, channel FROM orders WHERE is_purchase AND order_ts < $period_end::DATE + 1
), firsts AS (
    SELECT customer_id, date_trunc('month', min(order_ts))::DATE AS cohort,
           coalesce(arg_min(channel, order_ts), '') AS channel
    FROM purchases GROUP BY ALL
), money AS (
    SELECT f.cohort, f.channel, greatest(date_diff('month', f.cohort, date_trunc('month', o.order_ts)::DATE), 0) AS k,
           CAST(o.net AS DOUBLE) AS net, CAST(coalesce(o.net - o.cost, o.net * $margin) AS DOUBLE) AS margin
    FROM orders o JOIN firsts f USING (customer_id)
    WHERE o.order_ts < $period_end::DATE + 1 AND (o.is_purchase OR o.net < 0)
), sizes AS (
    SELECT cohort, channel, count(*) AS customers FROM firsts GROUP BY ALL
)
SELECT s.cohort, s.channel, s.customers, m.k AS months_since_first, sum(m.net) AS revenue, sum(m.margin) AS margin
FROM sizes s JOIN money m USING (cohort, channel)
GROUP BY ALL ORDER BY s.cohort, s.channel, months_since_first
