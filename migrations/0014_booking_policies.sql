-- Booking policies per category (issue 21). Each rule is a nullable column of categories (NULL: no
-- rule). Every slot carries the instants its category's rules give it, computed from its start
-- by the triggers below (so they move whatever writes the row), for the statements that enforce
-- them (src/bookings/commands.ts, moves.ts) and for everything that shows a slot:
--   booking_opens_at  = start - booking_opens_hours_before hours: no new entry before it;
--   booking_closes_at = start - booking_closes_minutes_before minutes: no new entry (place, hold,
--                       waitlist place) from it on, and no waiter promoted (the cron ends the
--                       waitlist then, as at the start);
--   cancellable_until = start - cancel_until_minutes_before minutes: the owner cancels a booked
--                       place only before it (an admin still may, audited).
-- cancel_until_minutes_before is 0 by default, for the categories there are too: the owner's
-- cancellation stops at the start, as it did before this rule. max_active_per_user bounds a user's
-- live entries in the category's slots that have not ended; src/bookings/policy-rules.ts counts
-- them inside the statement that adds an entry. Instants are 'YYYY-MM-DDTHH:MM:SSZ' text.
ALTER TABLE categories ADD COLUMN booking_opens_hours_before INTEGER CHECK (booking_opens_hours_before BETWEEN 1 AND 8784);
ALTER TABLE categories ADD COLUMN booking_closes_minutes_before INTEGER CHECK (booking_closes_minutes_before BETWEEN 0 AND 527040);
ALTER TABLE categories ADD COLUMN cancel_until_minutes_before INTEGER DEFAULT 0 CHECK (cancel_until_minutes_before BETWEEN 0 AND 527040);
ALTER TABLE categories ADD COLUMN max_active_per_user INTEGER CHECK (max_active_per_user BETWEEN 1 AND 1000);
UPDATE categories SET cancel_until_minutes_before = 0;

ALTER TABLE time_slots ADD COLUMN booking_opens_at TEXT;
ALTER TABLE time_slots ADD COLUMN booking_closes_at TEXT;
ALTER TABLE time_slots ADD COLUMN cancellable_until TEXT;
UPDATE time_slots SET cancellable_until = start_time;

-- A window in which booking never opens is refused (src/categories/policy.ts maps the message to a 422).
CREATE TRIGGER categories_booking_window_insert BEFORE INSERT ON categories
WHEN NEW.booking_opens_hours_before * 60 <= NEW.booking_closes_minutes_before
BEGIN
  SELECT RAISE(ABORT, 'booking window empty');
END;

CREATE TRIGGER categories_booking_window_update BEFORE UPDATE ON categories
WHEN NEW.booking_opens_hours_before * 60 <= NEW.booking_closes_minutes_before
BEGIN
  SELECT RAISE(ABORT, 'booking window empty');
END;

-- strftime gives NULL for a NULL offset: no rule, no instant.
CREATE TRIGGER time_slots_policy_created AFTER INSERT ON time_slots
BEGIN
  UPDATE time_slots SET
    booking_opens_at  = (SELECT strftime('%Y-%m-%dT%H:%M:%SZ', NEW.start_time, '-' || booking_opens_hours_before || ' hours') FROM categories WHERE id = NEW.category_id),
    booking_closes_at = (SELECT strftime('%Y-%m-%dT%H:%M:%SZ', NEW.start_time, '-' || booking_closes_minutes_before || ' minutes') FROM categories WHERE id = NEW.category_id),
    cancellable_until = (SELECT strftime('%Y-%m-%dT%H:%M:%SZ', NEW.start_time, '-' || cancel_until_minutes_before || ' minutes') FROM categories WHERE id = NEW.category_id)
  WHERE id = NEW.id;
END;

CREATE TRIGGER time_slots_policy_moved AFTER UPDATE OF start_time, category_id ON time_slots
WHEN OLD.start_time IS NOT NEW.start_time OR OLD.category_id IS NOT NEW.category_id
BEGIN
  UPDATE time_slots SET
    booking_opens_at  = (SELECT strftime('%Y-%m-%dT%H:%M:%SZ', NEW.start_time, '-' || booking_opens_hours_before || ' hours') FROM categories WHERE id = NEW.category_id),
    booking_closes_at = (SELECT strftime('%Y-%m-%dT%H:%M:%SZ', NEW.start_time, '-' || booking_closes_minutes_before || ' minutes') FROM categories WHERE id = NEW.category_id),
    cancellable_until = (SELECT strftime('%Y-%m-%dT%H:%M:%SZ', NEW.start_time, '-' || cancel_until_minutes_before || ' minutes') FROM categories WHERE id = NEW.category_id)
  WHERE id = NEW.id;
END;

-- A policy changed: its slots' instants follow. A changed cancellation deadline is part of what a
-- calendar shows (the ICS description names it), so it bumps the slot's version as 0006 does.
CREATE TRIGGER categories_policy_changed AFTER UPDATE OF booking_opens_hours_before, booking_closes_minutes_before, cancel_until_minutes_before ON categories
BEGIN
  UPDATE time_slots SET
    version = version + (cancellable_until IS NOT strftime('%Y-%m-%dT%H:%M:%SZ', start_time, '-' || NEW.cancel_until_minutes_before || ' minutes')),
    modified_at = CASE WHEN cancellable_until IS NOT strftime('%Y-%m-%dT%H:%M:%SZ', start_time, '-' || NEW.cancel_until_minutes_before || ' minutes')
                  THEN strftime('%Y-%m-%dT%H:%M:%SZ', 'now') ELSE modified_at END,
    booking_opens_at  = strftime('%Y-%m-%dT%H:%M:%SZ', start_time, '-' || NEW.booking_opens_hours_before || ' hours'),
    booking_closes_at = strftime('%Y-%m-%dT%H:%M:%SZ', start_time, '-' || NEW.booking_closes_minutes_before || ' minutes'),
    cancellable_until = strftime('%Y-%m-%dT%H:%M:%SZ', start_time, '-' || NEW.cancel_until_minutes_before || ' minutes')
  WHERE category_id = NEW.id;
END;
