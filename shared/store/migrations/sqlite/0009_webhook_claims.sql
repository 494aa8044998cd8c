-- Claims go webhook by webhook: the deliveries a webhook has in flight are
-- counted over this partial index (only leased rows are in it), and its
-- due ones are found over webhook_deliveries_due_by_webhook. The old
-- index of every due delivery served a query over the whole backlog.
CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (webhook_id, lease_until_ms)
    WHERE lease_until_ms IS NOT NULL;
DROP INDEX webhook_deliveries_due;
