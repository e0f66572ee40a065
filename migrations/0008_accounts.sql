-- Accounts people can manage (issue 23): sign out everywhere, change the password, leave.

-- Every token carries the generation of its user's tokens at issue (claim `gen`; none is 0). Signing
-- out everywhere and changing the password add one, which refuses every token issued before.
ALTER TABLE users ADD COLUMN token_generation INTEGER NOT NULL DEFAULT 0;

-- When the account was erased (DELETE /user). The row stays so that past bookings and audit
-- entries keep their user id, which then names no one: the email is replaced by 'erased:<id>'
-- (not an address, so the address is free again), the password hash by '' (which nothing verifies).
ALTER TABLE users ADD COLUMN deleted_at TEXT;

-- An erased account gets no new live entry, feed or preferences, whatever request asks: a token is
-- trusted for up to 10 s by another isolate's cache of its user (src/auth/middleware.ts).
CREATE TRIGGER bookings_of_erased_accounts BEFORE INSERT ON bookings
WHEN NEW.status <> 'CANCELLED' AND (SELECT deleted_at FROM users WHERE id = NEW.user_id) IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, 'account erased');
END;

CREATE TRIGGER calendar_feeds_of_erased_accounts BEFORE INSERT ON calendar_feeds
WHEN (SELECT deleted_at FROM users WHERE id = NEW.user_id) IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, 'account erased');
END;

CREATE TRIGGER user_preferences_of_erased_accounts BEFORE INSERT ON user_preferences
WHEN (SELECT deleted_at FROM users WHERE id = NEW.user_id) IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, 'account erased');
END;

-- audit_log.action gains 'user.password_change', 'user.sessions_revoke' and 'user.delete', each
-- recorded with the account's own id as actor; the column is plain TEXT.
