-- Every order of one customer ($customer_id, matched as ingestion writes ids: emails lower-case, "17850.0" as
-- "17850"), purchases and the rest (returns, cancelled, refunded: is_purchase and not_purchase_reason say), by date.
SELECT order_id, order_ts, gross, discount, refund, net, is_purchase, not_purchase_reason, status, currency,
       channel, items, product, products, discount_code, country
FROM orders
WHERE customer_id = clv_id($customer_id)
ORDER BY order_ts, order_id
