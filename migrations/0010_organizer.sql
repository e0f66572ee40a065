-- The organizer's side (issue 20).

-- Attendance: when an admin checked a BOOKED booking in (POST /admin/bookings/{id}/check-in);
-- NULL when not, or after the check-in was undone.
ALTER TABLE bookings ADD COLUMN checked_in_at TEXT;

-- A category removed while it still has past slots is archived rather than deleted: those slots
-- keep it for history. An archived category takes no new slots and no preferences; D1 refuses
-- them here, so that a slot created while the category is removed cannot slip in between.
ALTER TABLE categories ADD COLUMN archived_at TEXT;

CREATE TRIGGER time_slots_category_not_archived_insert BEFORE INSERT ON time_slots
WHEN (SELECT archived_at FROM categories WHERE id = NEW.category_id) IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: category archived');
END;

CREATE TRIGGER time_slots_category_not_archived_update BEFORE UPDATE OF category_id ON time_slots
WHEN NEW.category_id <> OLD.category_id AND (SELECT archived_at FROM categories WHERE id = NEW.category_id) IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: category archived');
END;

CREATE TRIGGER user_preferences_category_not_archived BEFORE INSERT ON user_preferences
WHEN (SELECT archived_at FROM categories WHERE id = NEW.category_id) IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: category archived');
END;
