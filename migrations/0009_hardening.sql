-- Webhook delivery at least once whatever the queue does (src/webhooks/delivery.ts). A row here is a
-- delivery of an event to a webhook that was handed to the queue and is not done yet; it is deleted
-- in the batch that records the attempt that ends it (a 2xx answer, the last retry failed, or the
-- webhook disabled). While it exists, the cron sends it again whenever `resend_at` has passed: the
-- queue lost the message (a crash of a local queue, which keeps its backlog in memory) or its retry.
CREATE TABLE webhook_pending (
  event_id   INTEGER NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
  webhook_id INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  attempts   INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),  -- attempts recorded so far
  resend_at  TEXT    NOT NULL,  -- the cron sends it again after this (handed over + 2 min, or retry due + 2 min)
  PRIMARY KEY (event_id, webhook_id)
);
CREATE INDEX webhook_pending_due ON webhook_pending (resend_at);

-- Deliveries handed over before this migration and not done by its rules: subscribed, enabled
-- webhooks without a 2xx for the event and fewer than 7 attempts. Sent again within 2 minutes.
INSERT INTO webhook_pending (event_id, webhook_id, attempts, resend_at)
SELECT e.id, w.id,
       (SELECT count(*) FROM webhook_deliveries AS d WHERE d.event_id = e.id AND d.webhook_id = w.id),
       strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '+2 minutes')
  FROM webhook_events AS e
  JOIN webhooks AS w
    ON w.disabled_at IS NULL AND w.created_at <= e.created_at AND e.type IN (SELECT value FROM json_each(w.events))
 WHERE e.dispatched_at IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM webhook_deliveries AS d
                    WHERE d.event_id = e.id AND d.webhook_id = w.id AND d.status_code BETWEEN 200 AND 299)
   AND (SELECT count(*) FROM webhook_deliveries AS d WHERE d.event_id = e.id AND d.webhook_id = w.id) < 7;
