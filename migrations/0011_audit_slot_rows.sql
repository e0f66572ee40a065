-- Audit entries of slot.create, slot.update and slot.delete now record the whole time_slots row
-- (the keys of TimeSlotRow, as webhook events do), shown through the API's one slot projection.
-- Entries written before recorded five fields under the API's names: rewrite them as rows, with
-- the slot's id from the target and its zone as it is now; what was not recorded (held places,
-- waiters) reads as none.
UPDATE audit_log SET
  before = CASE WHEN before IS NULL THEN NULL ELSE json_object(
    'id', CAST(substr(target, 6) AS INTEGER),
    'categoryId', json_extract(before, '$.category_id'),
    'startTime', json_extract(before, '$.start_time'),
    'endTime', json_extract(before, '$.end_time'),
    'maxCapacity', json_extract(before, '$.max_capacity'),
    'bookedCount', json_extract(before, '$.booked_count'),
    'deletedAt', NULL, 'heldCount', 0, 'waitlistLength', 0,
    'timezone', coalesce((SELECT timezone FROM time_slots WHERE id = CAST(substr(audit_log.target, 6) AS INTEGER)), 'UTC')) END,
  after = CASE WHEN after IS NULL THEN NULL ELSE json_object(
    'id', CAST(substr(target, 6) AS INTEGER),
    'categoryId', json_extract(after, '$.category_id'),
    'startTime', json_extract(after, '$.start_time'),
    'endTime', json_extract(after, '$.end_time'),
    'maxCapacity', json_extract(after, '$.max_capacity'),
    'bookedCount', json_extract(after, '$.booked_count'),
    'deletedAt', NULL, 'heldCount', 0, 'waitlistLength', 0,
    'timezone', coalesce((SELECT timezone FROM time_slots WHERE id = CAST(substr(audit_log.target, 6) AS INTEGER)), 'UTC')) END
WHERE action IN ('slot.create', 'slot.update', 'slot.delete')
  AND coalesce(json_extract(before, '$.max_capacity'), json_extract(after, '$.max_capacity')) IS NOT NULL;
