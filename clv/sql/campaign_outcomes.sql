-- Per campaign customer ($campaigns: campaign_id, customer_id, created) what they did after the campaign date, up to
-- $window_end (inclusive): purchases and net revenue (purchases minus returns and refunds dated in the window).
-- Customer ids are compared exactly as the loader stored them (the campaign file was written from them).
-- margin: the same orders' margin, each order's own (net − cost) where it carries a product cost, else net × $margin.
WITH members AS (
    SELECT DISTINCT campaign_id, customer_id, created::DATE AS created FROM campaign_members
), later AS (
    SELECT m.campaign_id, m.customer_id, o.is_purchase, o.net, coalesce(o.net - o.cost, o.net * $margin) AS margin
    FROM members m JOIN orders o
      ON o.customer_id = m.customer_id
     AND o.order_ts >= m.created + 1 AND o.order_ts < $window_end::DATE + 1
)
SELECT campaign_id, customer_id,
       count(*) FILTER (WHERE is_purchase) AS purchases,
       coalesce(sum(net) FILTER (WHERE is_purchase), 0) + coalesce(sum(net) FILTER (WHERE NOT is_purchase AND net < 0), 0)
           AS revenue,
       CAST(coalesce(sum(margin) FILTER (WHERE is_purchase), 0) + coalesce(sum(margin) FILTER (WHERE NOT is_purchase AND net < 0), 0)
           AS DOUBLE) AS margin
FROM later
GROUP BY ALL
