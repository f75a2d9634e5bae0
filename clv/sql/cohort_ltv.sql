-- Cumulative revenue per customer by acquisition cohort (the calendar month of the first purchase) and months since
-- it (0 = the cohort month itself, calendar months as in cohorts.sql), up to $period_end (inclusive; a date).
-- Money counts as in customers.sql: purchases' net, minus returns (negative non-purchases) dated up to $period_end,
-- each in the month it is dated (a return before the first purchase counts in month 0). A customer's revenue over
-- every month therefore sums to their customers.sql revenue. complete: the month has ended by $period_end (the
-- last column of each cohort is usually the month still running). Cells with no orders carry the total forward.
-- Margin: an order's own (net − cost) where it carries a product cost, else net × $margin (clv.margins).
WITH purchases AS (
    SELECT customer_id, order_ts FROM orders WHERE is_purchase AND order_ts < $period_end::DATE + 1
), firsts AS (
    SELECT customer_id, date_trunc('month', min(order_ts))::DATE AS cohort FROM purchases GROUP BY ALL
), money AS (
    SELECT f.cohort, greatest(date_diff('month', f.cohort, date_trunc('month', o.order_ts)::DATE), 0) AS k,
           CAST(o.net AS DOUBLE) AS net, CAST(coalesce(o.net - o.cost, o.net * $margin) AS DOUBLE) AS margin
    FROM orders o JOIN firsts f USING (customer_id)
    WHERE o.order_ts < $period_end::DATE + 1 AND (o.is_purchase OR o.net < 0)
), per_month AS (
    SELECT cohort, k AS months_since_first, sum(net) AS revenue, sum(margin) AS margin FROM money GROUP BY ALL
), sizes AS (
    SELECT cohort, count(*) AS customers FROM firsts GROUP BY ALL
), grid AS (
    SELECT cohort, customers,
           unnest(range(0, date_diff('month', cohort, date_trunc('month', $period_end::DATE)::DATE) + 1))
               AS months_since_first
    FROM sizes
), cumulative AS (
    SELECT g.cohort, g.months_since_first, g.customers,
           sum(coalesce(p.revenue, 0)) OVER (PARTITION BY g.cohort ORDER BY g.months_since_first) AS revenue,
           sum(coalesce(p.margin, 0)) OVER (PARTITION BY g.cohort ORDER BY g.months_since_first) AS margin
    FROM grid g LEFT JOIN per_month p USING (cohort, months_since_first)
)
SELECT cohort, months_since_first, customers,
       revenue / customers AS cumulative_revenue_per_customer,
       margin / customers AS cumulative_margin_per_customer,
       (cohort + to_months(CAST(months_since_first + 1 AS INTEGER)) - INTERVAL 1 DAY)::DATE <= $period_end::DATE
           AS complete
FROM cumulative
ORDER BY cohort, months_since_first
