-- Waitlist and holds. A booking row is now one of four kinds:
--   BOOKED      a place, as before
--   HELD        a place reserved for 5 minutes (expires_at) until its holder confirms it
--   WAITLISTED  a place wanted on a full slot; waiters are promoted in id order (= join order)
--   CANCELLED   ended: cancelled, its slot deleted, or a hold that expired (cancelled_at >= expires_at)
--
-- The triggers below keep three counts on time_slots, never application code:
--   booked_count (existing), held_count, waitlist_length.
-- D1 itself refuses any write that would put booked + held places above max_capacity (or drop
-- max_capacity below them), or make a waitlist longer than 1,000.

ALTER TABLE time_slots ADD COLUMN held_count INTEGER NOT NULL DEFAULT 0
  CONSTRAINT places_within_capacity CHECK (held_count >= 0 AND booked_count + held_count <= max_capacity);
ALTER TABLE time_slots ADD COLUMN waitlist_length INTEGER NOT NULL DEFAULT 0
  CONSTRAINT waitlist_within_limit CHECK (waitlist_length BETWEEN 0 AND 1000);

-- SQLite cannot change a CHECK constraint in place: rebuild bookings with the new statuses,
-- keeping every row and id, then recreate its indexes and triggers.
CREATE TABLE bookings_new (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id      INTEGER NOT NULL REFERENCES users (id),
  time_slot_id INTEGER NOT NULL REFERENCES time_slots (id),
  status       TEXT    NOT NULL CHECK (status IN ('BOOKED', 'HELD', 'WAITLISTED', 'CANCELLED')),
  created_at   TEXT    NOT NULL,
  cancelled_at TEXT,
  -- When a hold ends: set while HELD, cleared when the hold is confirmed, kept when it is cancelled
  -- or released, so that a CANCELLED row with cancelled_at >= expires_at is a hold that expired.
  expires_at   TEXT,
  CHECK (status <> 'HELD' OR expires_at IS NOT NULL)
);
INSERT INTO bookings_new (id, user_id, time_slot_id, status, created_at, cancelled_at)
  SELECT id, user_id, time_slot_id, status, created_at, cancelled_at FROM bookings;
DROP TABLE bookings;
ALTER TABLE bookings_new RENAME TO bookings;

-- Invariant 2: at most one live entry (booked, held or waitlisted) per user and slot.
CREATE UNIQUE INDEX bookings_one_live_per_user ON bookings (time_slot_id, user_id)
  WHERE status IN ('BOOKED', 'HELD', 'WAITLISTED');
CREATE INDEX bookings_by_user ON bookings (user_id);
-- The waitlist in join order: promotion takes its head, a waiter's position counts the rows up to it.
CREATE INDEX bookings_waitlist ON bookings (time_slot_id, id) WHERE status = 'WAITLISTED';
-- Holds by expiry: what the slot object's alarm releases, and when it next has to wake.
CREATE INDEX bookings_holds ON bookings (time_slot_id, expires_at) WHERE status = 'HELD';

-- A boolean is 0 or 1 in SQLite: each count moves by one when a row enters or leaves its status.
CREATE TRIGGER bookings_count_insert AFTER INSERT ON bookings WHEN NEW.status <> 'CANCELLED'
BEGIN
  UPDATE time_slots
     SET booked_count    = booked_count    + (NEW.status = 'BOOKED'),
         held_count      = held_count      + (NEW.status = 'HELD'),
         waitlist_length = waitlist_length + (NEW.status = 'WAITLISTED')
   WHERE id = NEW.time_slot_id;
END;

CREATE TRIGGER bookings_count_status AFTER UPDATE OF status ON bookings WHEN OLD.status <> NEW.status
BEGIN
  UPDATE time_slots
     SET booked_count    = booked_count    + (NEW.status = 'BOOKED')     - (OLD.status = 'BOOKED'),
         held_count      = held_count      + (NEW.status = 'HELD')       - (OLD.status = 'HELD'),
         waitlist_length = waitlist_length + (NEW.status = 'WAITLISTED') - (OLD.status = 'WAITLISTED')
   WHERE id = NEW.time_slot_id;
END;
