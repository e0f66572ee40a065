-- slotbook schema. Times are UTC ISO 8601 strings of one fixed shape, 'YYYY-MM-DDTHH:MM:SSZ',
-- so that comparing them as text orders them in time.

CREATE TABLE users (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  email         TEXT    NOT NULL UNIQUE,
  password_hash TEXT    NOT NULL,
  role          TEXT    NOT NULL DEFAULT 'USER' CHECK (role IN ('USER', 'ADMIN')),
  created_at    TEXT    NOT NULL
);

CREATE TABLE categories (
  id   INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT    NOT NULL UNIQUE COLLATE NOCASE
);

CREATE TABLE user_preferences (
  user_id     INTEGER NOT NULL REFERENCES users (id),
  category_id INTEGER NOT NULL REFERENCES categories (id),
  PRIMARY KEY (user_id, category_id)
);

-- booked_count is maintained by the triggers below, never by application code, and the CHECK
-- makes any write that would overbook the slot (or drop its capacity below its bookings) fail.
-- AUTOINCREMENT: a slot id is never reused, so the Durable Object named after it is never reused.
CREATE TABLE time_slots (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  category_id  INTEGER NOT NULL REFERENCES categories (id),
  start_time   TEXT    NOT NULL,
  end_time     TEXT    NOT NULL,
  max_capacity INTEGER NOT NULL CHECK (max_capacity BETWEEN 1 AND 10000),
  booked_count INTEGER NOT NULL DEFAULT 0 CHECK (booked_count BETWEEN 0 AND max_capacity),
  deleted_at   TEXT,
  CHECK (start_time < end_time)
);
CREATE INDEX time_slots_by_start ON time_slots (start_time) WHERE deleted_at IS NULL;

CREATE TABLE bookings (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id      INTEGER NOT NULL REFERENCES users (id),
  time_slot_id INTEGER NOT NULL REFERENCES time_slots (id),
  status       TEXT    NOT NULL CHECK (status IN ('BOOKED', 'CANCELLED')),
  created_at   TEXT    NOT NULL,
  cancelled_at TEXT
);
-- Invariant 2: at most one live booking per user and slot.
CREATE UNIQUE INDEX bookings_one_live_per_user ON bookings (time_slot_id, user_id) WHERE status = 'BOOKED';
CREATE INDEX bookings_by_user ON bookings (user_id);

CREATE TRIGGER bookings_count_insert AFTER INSERT ON bookings WHEN NEW.status = 'BOOKED'
BEGIN
  UPDATE time_slots SET booked_count = booked_count + 1 WHERE id = NEW.time_slot_id;
END;

CREATE TRIGGER bookings_count_status AFTER UPDATE OF status ON bookings WHEN OLD.status <> NEW.status
BEGIN
  UPDATE time_slots
     SET booked_count = booked_count + (CASE NEW.status WHEN 'BOOKED' THEN 1 ELSE -1 END)
   WHERE id = NEW.time_slot_id;
END;

INSERT INTO categories (name) VALUES ('Fitness'), ('Consultation'), ('Workshop'), ('Venue');
