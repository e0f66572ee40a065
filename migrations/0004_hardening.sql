-- Category names are unique as people read them (src/http/text.ts, comparisonKey): in NFC, without
-- invisible characters (zero-width spaces and joiners, soft hyphens, ...), in lower case. The
-- Worker computes the key of every new name; D1 keeps keys unique.
ALTER TABLE categories ADD COLUMN name_key TEXT NOT NULL DEFAULT '';

-- Existing names: SQLite has neither NFC nor Unicode case mapping, so their keys drop the
-- invisible characters met in practice (U+00AD, U+200B-U+200D, U+2060, U+FE0F, U+FEFF) and lower-case
-- ASCII letters, as the name's old COLLATE NOCASE compared them.
UPDATE categories SET name_key = lower(
  replace(replace(replace(replace(replace(replace(replace(name,
    char(173), ''), char(8203), ''), char(8204), ''), char(8205), ''), char(8288), ''), char(65039), ''), char(65279), ''));

-- Names that only invisible characters told apart keep their rows: each but the first gets its id
-- appended to its key, so that the index can be built. No new name can collide with them so.
UPDATE categories SET name_key = name_key || ' #' || id
 WHERE EXISTS (SELECT 1 FROM categories AS earlier WHERE earlier.name_key = categories.name_key AND earlier.id < categories.id);

CREATE UNIQUE INDEX categories_name_key ON categories (name_key);

-- audit_log.action (0003) may now also be 'booking.cancel': an admin cancelling someone else's
-- booking, or one whose slot has started.
