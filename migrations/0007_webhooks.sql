-- Webhooks fed by a transactional outbox, and rescheduling (moving a booking to another slot).

-- An endpoint that receives signed POSTs (Standard Webhooks) for the event types it subscribes to.
CREATE TABLE webhooks (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  url           TEXT    NOT NULL,
  events        TEXT    NOT NULL CHECK (json_valid(events) AND json_type(events) = 'array'),  -- '["booking.created", ...]'
  secret        TEXT    NOT NULL,  -- 'whsec_' + base64 of 32 random bytes: the HMAC key is what follows the prefix
  created_at    TEXT    NOT NULL,
  failing_since TEXT,              -- the first failed attempt since the last success; NULL while it succeeds
  disabled_at   TEXT               -- set once it has failed for 3 days in a row: nothing more is sent to it
);

-- The outbox. An event is written by the same D1 batch as the change it announces, so a change
-- that commits always has its event and one that fails never does, and only while an enabled
-- webhook subscribes to its type. dispatched_at is set once its queue messages are sent; the
-- cron sends the ones a crash left behind.
CREATE TABLE webhook_events (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  type          TEXT    NOT NULL,  -- 'booking.created', 'slot.updated', ...
  data          TEXT    NOT NULL CHECK (json_valid(data)),
  created_at    TEXT    NOT NULL,
  dispatched_at TEXT
);
CREATE INDEX webhook_events_undispatched ON webhook_events (created_at) WHERE dispatched_at IS NULL;

-- Every attempt to deliver an event to a webhook, successful or not.
CREATE TABLE webhook_deliveries (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  webhook_id  INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  event_id    INTEGER NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
  event_type  TEXT    NOT NULL,
  attempt     INTEGER NOT NULL CHECK (attempt >= 1),
  status_code INTEGER,           -- the endpoint's answer; NULL when none came (then `error` says why)
  error       TEXT,
  created_at  TEXT    NOT NULL
);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_id);

-- A booking moved to another slot is CANCELLED and names the booking that replaced it.
ALTER TABLE bookings ADD COLUMN rescheduled_to INTEGER REFERENCES bookings (id);

-- Moves in progress. Rescheduling books the place in the target slot and writes this row in one
-- batch, then cancels the source booking and deletes the row in another; if that fails, the
-- target booking is cancelled and the row deleted instead. A row left by a crash is rolled back
-- by the cron. At most one move per booking at a time.
CREATE TABLE booking_moves (
  from_booking_id INTEGER PRIMARY KEY REFERENCES bookings (id),
  to_booking_id   INTEGER NOT NULL UNIQUE REFERENCES bookings (id),
  created_at      TEXT    NOT NULL
);
