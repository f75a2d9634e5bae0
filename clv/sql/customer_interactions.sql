-- Every interaction of one customer ($customer_id, matched as ingestion writes ids), by time.
SELECT event_ts, event_type, known_type, channel, value
FROM interactions
WHERE customer_id = clv_id($customer_id)
ORDER BY event_ts, event_type
