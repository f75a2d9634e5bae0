-- Monthly cohort retention: for customers whose first purchase fell in cohort_month, the share who purchased
-- again in each later month (months_since = 0 is the first month itself); purchases up to $as_of (NULL: all).
WITH purchases AS (
    SELECT customer_id, date_trunc('month', order_ts)::DATE AS month
    FROM orders WHERE is_purchase AND ($as_of IS NULL OR order_ts < $as_of::DATE + 1)
), firsts AS (
    SELECT customer_id, min(month) AS cohort_month FROM purchases GROUP BY ALL
), activity AS (
    SELECT DISTINCT p.customer_id, f.cohort_month,
           date_diff('month', f.cohort_month, p.month) AS months_since
    FROM purchases p JOIN firsts f USING (customer_id)
), sizes AS (
    SELECT cohort_month, count(*) AS cohort_size FROM firsts GROUP BY ALL
)
SELECT a.cohort_month, a.months_since, s.cohort_size, count(*) AS customers,
       count(*) / s.cohort_size AS retention
FROM activity a JOIN sizes s USING (cohort_month)
GROUP BY a.cohort_month, a.months_since, s.cohort_size
ORDER BY a.cohort_month, a.months_since
