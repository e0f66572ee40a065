-- Holds are a courtesy, not a way to take a slot's inventory (issue 22.1). D1 refuses, in the
-- batch that adds a hold, whatever breaks these two rules, so no race between slot objects can
-- pass them; src/bookings/hold-rules.ts names the same numbers and maps the messages to errors.
--
-- 1. A user holds at most 5 live holds at once, across all slots ('hold limit reached'). A live
--    hold is a HELD row whose end has not passed; a confirmed hold is a booking and counts no more.
-- 2. A user whose hold on a slot ended unconfirmed (expired, or cancelled by its holder) cannot
--    hold that slot again for 60 seconds after it ended ('hold cooldown'): releasing and taking a
--    hold again cannot keep a place away from a plain booker. An ended hold is a CANCELLED row with
--    expires_at set (confirming clears it); it ended at cancelled_at. Plain bookings and waitlist
--    joins are not concerned.
-- Instants are 'YYYY-MM-DDTHH:MM:SSZ' text (src/db/time.ts), compared as text.

CREATE TRIGGER bookings_hold_limit_insert BEFORE INSERT ON bookings
WHEN NEW.status = 'HELD'
 AND (SELECT count(*) FROM bookings
       WHERE user_id = NEW.user_id AND status = 'HELD' AND expires_at > strftime('%Y-%m-%dT%H:%M:%SZ', 'now')) >= 5
BEGIN
  SELECT RAISE(ABORT, 'hold limit reached');
END;

CREATE TRIGGER bookings_hold_limit_update BEFORE UPDATE OF status ON bookings
WHEN NEW.status = 'HELD' AND OLD.status <> 'HELD'
 AND (SELECT count(*) FROM bookings
       WHERE user_id = NEW.user_id AND status = 'HELD' AND expires_at > strftime('%Y-%m-%dT%H:%M:%SZ', 'now')) >= 5
BEGIN
  SELECT RAISE(ABORT, 'hold limit reached');
END;

CREATE TRIGGER bookings_hold_cooldown_insert BEFORE INSERT ON bookings
WHEN NEW.status = 'HELD'
 AND EXISTS (SELECT 1 FROM bookings
              WHERE user_id = NEW.user_id AND time_slot_id = NEW.time_slot_id AND status = 'CANCELLED'
                AND expires_at IS NOT NULL AND cancelled_at > strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-60 seconds'))
BEGIN
  SELECT RAISE(ABORT, 'hold cooldown');
END;

CREATE TRIGGER bookings_hold_cooldown_update BEFORE UPDATE OF status ON bookings
WHEN NEW.status = 'HELD' AND OLD.status <> 'HELD'
 AND EXISTS (SELECT 1 FROM bookings
              WHERE user_id = NEW.user_id AND time_slot_id = NEW.time_slot_id AND status = 'CANCELLED'
                AND expires_at IS NOT NULL AND cancelled_at > strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-60 seconds'))
BEGIN
  SELECT RAISE(ABORT, 'hold cooldown');
END;
