-- Historic value per customer by a trait of their acquisition, up to $period_end (inclusive; a date).
-- $by: first_product | discount_code | discounted | channel | country. The trait is the first purchase's (earliest
-- order_ts, then order_id): its product (the first line item's), its discount code (none: the $missing group, the
-- full-price first orders), discounted or full price (a code or a discount amount), its country; channel is the
-- acquisition channel exactly as customers.sql has it (the earliest purchase that names one).
-- revenue is customers.sql's: purchases' net minus returns dated up to $period_end. Time is purchase days:
-- a repeat customer bought on a second, later day; days_to_second_order is from the first purchase day to it.
-- The $top_n largest groups are kept (by customers, then name); the rest are folded into one $other row
-- (folded_groups says how many); customers without the trait are the $missing row, never folded.
-- projected: the mean of cut_scores.clv over the group's customers that have a score (NULL without scores).
-- $acquired_from (a date or NULL): only the customers whose first purchase is on or after it (a period's new
-- customers); their traits and value are still counted from all their purchases up to $period_end.
WITH purchases AS (
    SELECT customer_id, order_id, order_ts, net, discount, product, discount_code, channel, country
    FROM orders WHERE is_purchase AND order_ts < $period_end::DATE + 1
), returns AS (
    SELECT customer_id, -sum(net) AS returned
    FROM orders WHERE NOT is_purchase AND net < 0 AND order_ts < $period_end::DATE + 1
    GROUP BY ALL
), per_customer AS (
    SELECT customer_id, sum(net) AS purchased,
           first(product ORDER BY order_ts, order_id) AS first_product,
           first(discount_code ORDER BY order_ts, order_id) AS first_code,
           first(discount_code IS NOT NULL OR coalesce(discount, 0) > 0 ORDER BY order_ts, order_id) AS discounted,
           arg_min(channel, order_ts) AS channel,
           first(country ORDER BY order_ts, order_id) AS country
    FROM purchases GROUP BY ALL
    HAVING $acquired_from::DATE IS NULL OR min(order_ts)::DATE >= $acquired_from::DATE
), days AS (
    SELECT customer_id, min(day, 2) AS first_two
    FROM (SELECT DISTINCT customer_id, order_ts::DATE AS day FROM purchases) GROUP BY ALL
), keyed AS (
    SELECT c.customer_id, CAST(c.purchased - coalesce(r.returned, 0) AS DOUBLE) AS revenue,
           len(d.first_two) > 1 AS repeat,
           CASE WHEN len(d.first_two) > 1 THEN date_diff('day', d.first_two[1], d.first_two[2]) END
               AS days_to_second_order,
           CASE $by WHEN 'first_product' THEN c.first_product
                    WHEN 'discount_code' THEN c.first_code
                    WHEN 'discounted' THEN CASE WHEN c.discounted THEN 'discounted' ELSE 'full price' END
                    WHEN 'channel' THEN c.channel
                    WHEN 'country' THEN c.country END AS key,
           CAST(s.clv AS DOUBLE) AS projected
    FROM per_customer c
    JOIN days d USING (customer_id)
    LEFT JOIN returns r USING (customer_id)
    LEFT JOIN cut_scores s USING (customer_id)
), ranked AS (
    SELECT key, row_number() OVER (ORDER BY count(*) DESC, key) AS rank
    FROM keyed WHERE key IS NOT NULL GROUP BY key
), folded AS (
    SELECT k.*, CASE WHEN k.key IS NULL THEN $missing WHEN r.rank <= $top_n THEN k.key ELSE $other END AS grp,
           CASE WHEN r.rank > $top_n THEN k.key END AS folded_key
    FROM keyed k LEFT JOIN ranked r USING (key)
)
SELECT grp AS "group", count(*) AS customers, count(*) / sum(count(*)) OVER () AS share,
       avg(revenue) AS revenue_per_customer, median(revenue) AS revenue_median,
       stddev_samp(revenue) AS revenue_sd,
       avg(CASE WHEN repeat THEN 1.0 ELSE 0.0 END) AS repeat_rate,
       median(days_to_second_order) AS median_days_to_second_order,
       avg(projected) AS projected_clv_per_customer, count(projected) AS scored_customers,
       count(DISTINCT folded_key) AS folded_groups
FROM folded
GROUP BY grp
ORDER BY grp = $other, grp = $missing, customers DESC, grp
