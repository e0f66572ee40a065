-- Calendar clients (issue 8): a display time zone per slot, change counters for ICS SEQUENCE and
-- LAST-MODIFIED kept by triggers (so they move whatever writes the row), and per-user feed secrets.
-- Only ALTER TABLE ... ADD COLUMN and new objects: 0005 rebuilds bookings before this runs.
-- audit_log.action gains 'slot.create_series' (POST /admin/slots/series); the column is plain TEXT.

-- The IANA zone a slot is shown in (validated by the API with Intl). Instants stay UTC.
ALTER TABLE time_slots ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';

-- version: how many times what a calendar shows of the row has changed (0 when created);
-- modified_at: when it last did ('YYYY-MM-DDTHH:MM:SSZ').
-- A slot's modified_at is set on insert too (a trigger, and once here for the slots there are).
-- A booking's stays NULL until it changes: its created_at tells until then, at no cost per booking.
ALTER TABLE time_slots ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE time_slots ADD COLUMN modified_at TEXT NOT NULL DEFAULT '1970-01-01T00:00:00Z';
UPDATE time_slots SET modified_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now');
ALTER TABLE bookings ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE bookings ADD COLUMN modified_at TEXT;

CREATE TRIGGER time_slots_created AFTER INSERT ON time_slots
BEGIN
  UPDATE time_slots SET modified_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = NEW.id;
END;

-- A booking's calendar event changes with its slot's times, category (the summary), zone and
-- deletion; not with booked_count or max_capacity, which the triggers on bookings move all the time.
CREATE TRIGGER time_slots_version AFTER UPDATE OF category_id, start_time, end_time, timezone, deleted_at ON time_slots
WHEN OLD.category_id IS NOT NEW.category_id OR OLD.start_time IS NOT NEW.start_time OR OLD.end_time IS NOT NEW.end_time
  OR OLD.timezone IS NOT NEW.timezone OR OLD.deleted_at IS NOT NEW.deleted_at
BEGIN
  UPDATE time_slots SET version = version + 1, modified_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = NEW.id;
END;

CREATE TRIGGER bookings_version AFTER UPDATE OF status ON bookings WHEN OLD.status IS NOT NEW.status
BEGIN
  UPDATE bookings SET version = version + 1, modified_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = NEW.id;
END;

-- A user's private ICS feed. The URL's secret is never stored: it is HMAC(key, salt) with a key
-- derived from JWT_SECRET (src/calendar/feed-secret.ts), so D1 holds only the salt and the
-- secret's SHA-256, by which the feed route finds the user. Rotating replaces both.
CREATE TABLE calendar_feeds (
  user_id     INTEGER PRIMARY KEY REFERENCES users (id),
  salt        TEXT    NOT NULL,
  secret_hash TEXT    NOT NULL UNIQUE,
  created_at  TEXT    NOT NULL
);
