-- The first answer to a request sent with an Idempotency-Key, replayed to retries of it for 24 hours.
-- A successful booking or cancellation is recorded in the same batch as the change itself, so a
-- change and its record exist together or not at all.
CREATE TABLE idempotency_keys (
  user_id    INTEGER NOT NULL REFERENCES users (id),
  key        TEXT    NOT NULL,
  request    TEXT    NOT NULL,  -- what was asked, e.g. 'POST /bookings {"time_slot_id":7}'
  outcome    TEXT    NOT NULL,  -- the JSON answer, as the slot object returned it
  created_at TEXT    NOT NULL,
  PRIMARY KEY (user_id, key)
);
