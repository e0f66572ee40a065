import { and, eq, ne, sql, type SQL } from "drizzle-orm";
import type { Database } from "../db/client";
import { users, webhooks, type Role } from "../db/schema";
import { record } from "./record";

// The audit entries of accounts (an admin's role change; an account's own password change,
// sign-out everywhere and deletion) and of webhooks, made as record.ts makes every entry: in the
// batch of the change, computed from the row in SQL.

/**
 * Goes before the UPDATE that gives `role` to the users `where` selects (the UPDATE's own
 * condition); records nothing for a user who has that role already.
 */
export function auditRoleChanged(db: Database, actorId: number, role: Role, where: SQL | undefined) {
  return record(db, {
    actorId,
    action: role === "ADMIN" ? "user.promote" : "user.demote",
    target: sql`'user:' || ${users.id}`,
    before: sql`json_object('role', ${users.role})`,
    after: sql`json_object('role', ${role})`,
    from: users,
    where: and(where, ne(users.role, role)),
  });
}

/**
 * Goes before the UPDATE that moves on the token generation of the account `where` selects (the
 * UPDATE's own condition): a password change or a sign-out everywhere, by the account itself.
 * Neither password is recorded, only the generation that the account's tokens leave and enter.
 */
export function auditTokensRevoked(db: Database, userId: number, action: "user.password_change" | "user.sessions_revoke", where: SQL | undefined) {
  return record(db, {
    actorId: userId,
    action,
    target: sql`'user:' || ${users.id}`,
    before: sql`json_object('token_generation', ${users.tokenGeneration})`,
    after: sql`json_object('token_generation', ${users.tokenGeneration} + 1)`,
    from: users,
    where,
  });
}

/** Goes before the UPDATE that erases the account `where` selects (DELETE /user): by the account itself, without its email. */
export function auditAccountErased(db: Database, userId: number, where: SQL | undefined) {
  return record(db, {
    actorId: userId,
    action: "user.delete",
    target: sql`'user:' || ${users.id}`,
    before: sql`json_object('role', ${users.role})`,
    after: sql`NULL`,
    from: users,
    where,
  });
}

/** A webhook as audit entries show it: never its secret. */
const webhookJson = sql`json_object('url', ${webhooks.url}, 'events', json(${webhooks.events}))`;

/** Goes right after the INSERT INTO webhooks. */
export function auditWebhookCreated(db: Database, actorId: number) {
  return record(db, {
    actorId,
    action: "webhook.create",
    target: sql`'webhook:' || ${webhooks.id}`,
    before: sql`NULL`,
    after: webhookJson,
    from: webhooks,
    where: sql`${webhooks.id} = last_insert_rowid()`,
  });
}

/** Goes before the DELETE of the webhook. */
export function auditWebhookDeleted(db: Database, actorId: number, webhookId: number) {
  return record(db, {
    actorId,
    action: "webhook.delete",
    target: sql`${`webhook:${webhookId}`}`,
    before: webhookJson,
    after: sql`NULL`,
    from: webhooks,
    where: eq(webhooks.id, webhookId),
  });
}
