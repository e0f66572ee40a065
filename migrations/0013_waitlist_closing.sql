-- Once a slot has started, its waiters are promoted no more and the cron ends their entries
-- (src/maintenance/scheduled.ts, closeStartedWaitlists; event waitlist.closed). The slots it looks
-- for every minute, found without reading every slot.
CREATE INDEX time_slots_with_waiters ON time_slots (start_time) WHERE waitlist_length > 0 AND deleted_at IS NULL;
