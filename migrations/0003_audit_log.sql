-- Admin actions: who did what to which row, with the row before and after. Each entry is written
-- in the same D1 batch (or statement) as the change it records, so a change and its record exist
-- together or not at all.
CREATE TABLE audit_log (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  -- The admin's user id, or NULL for a change made with wrangler (scripts/admin.ts). Not a foreign
  -- key: the record must outlive the account.
  actor_id   INTEGER,
  action     TEXT    NOT NULL,  -- 'category.create', 'slot.create', 'slot.update', 'slot.delete', 'user.promote', 'user.demote'
  target     TEXT    NOT NULL,  -- what was changed: 'category:3', 'slot:7', 'user:12'
  before     TEXT    CHECK (before IS NULL OR json_valid(before)),  -- JSON; NULL for a creation
  after      TEXT    CHECK (after IS NULL OR json_valid(after)),    -- JSON; NULL for a deletion
  created_at TEXT    NOT NULL
);
