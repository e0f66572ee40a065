import { createRoute, z } from "@hono/zod-openapi";
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Context } from "hono";
import { auditTokensRevoked } from "../audit/record-accounts";
import { confirmPassword } from "../auth/credentials";
import { issueToken } from "../auth/jwt";
import { forgetCaller, KNOWN_USER_TTL_MS, requireCurrentUser } from "../auth/middleware";
import { hashPassword } from "../auth/password";
import { NewPassword, refuseCommonPassword } from "../auth/password-rules";
import { clientAddress, TokenSchema } from "../auth/routes";
import { database } from "../db/client";
import { users } from "../db/schema";
import { createRouter } from "../http/app";
import { type CallerEnv } from "../auth/caller";
import { invalidCredentials, invalidToken } from "../errors/catalogue";
import { bearerAuth, errorResponses, jsonBody, jsonResponse } from "../http/openapi";
import { MessageSchema } from "../http/schemas";
import { deleteAccount } from "./erase";
import { AccountExportSchema, exportAccount } from "./export";

// The account's own lifecycle: change the password, sign out everywhere, take the data, leave.
// Each route reads the caller from D1 (requireCurrentUser), so a token refused elsewhere is refused here at once.

const CACHE_BOUND = `Other routes may accept a refused token for up to ${KNOWN_USER_TTL_MS / 1000} s more (each isolate's cache of its callers).`;

const PasswordChange = z
  .object({
    current_password: z.string().min(1).max(128),
    new_password: NewPassword.openapi({ description: "8 to 128 characters, not one of the most common passwords" }),
  })
  .openapi("PasswordChange");

const changePassword = createRoute({
  operationId: "changePassword",
  method: "put",
  path: "/user/password",
  tags: ["Account"],
  summary: "Change the caller's password; every token issued before is refused, and a new one is answered",
  description:
    "The current password is checked under the login throttle (as a login for the account's email): a wrong one is 401 " +
    "`invalid_credentials`, and counts as a failed login. The new one follows the rules of registration (422 `weak_password`). " +
    `Recorded in the audit log as \`user.password_change\`, without either password. ${CACHE_BOUND}`,
  security: bearerAuth,
  middleware: [requireCurrentUser] as const,
  request: { body: jsonBody(PasswordChange) },
  responses: {
    200: jsonResponse(TokenSchema, "Changed: a token for the new password, shaped as login's answer"),
    ...errorResponses(401, 413, 422, 429, 503),
  },
});

const revokeSessions = createRoute({
  operationId: "revokeSessions",
  method: "post",
  path: "/user/sessions/revoke",
  tags: ["Account"],
  summary: "Sign out everywhere: every token of the caller issued until now is refused (401 `invalid_token`)",
  description: `Recorded in the audit log as \`user.sessions_revoke\`. Log in again for a new token. ${CACHE_BOUND}`,
  security: bearerAuth,
  middleware: [requireCurrentUser] as const,
  responses: { 200: jsonResponse(MessageSchema, "Signed out everywhere"), ...errorResponses(401, 503) },
});

const exportData = createRoute({
  operationId: "exportAccount",
  method: "get",
  path: "/user/export",
  tags: ["Account"],
  summary: "Everything stored about the caller, as JSON: account, preferences, bookings, feed, audit entries",
  security: bearerAuth,
  middleware: [requireCurrentUser] as const,
  responses: {
    200: {
      ...jsonResponse(AccountExportSchema, "The caller's data; `Content-Disposition: attachment`, `Cache-Control: no-store`"),
      headers: { "Content-Disposition": { description: "attachment; filename=\"slotbook-export.json\"", schema: { type: "string" as const } } },
    },
    ...errorResponses(401, 503),
  },
});

const AccountDeletion = z.object({ password: z.string().min(1).max(128) }).openapi("AccountDeletion");
const DeletedSchema = MessageSchema.extend({
  cancelled_bookings: z.number().int().openapi({ description: "Live entries (bookings, holds, waitlist places) ended by this request" }),
}).openapi("AccountDeleted");

const deleteUser = createRoute({
  operationId: "deleteAccount",
  method: "delete",
  path: "/user",
  tags: ["Account"],
  summary: "Delete the caller's account: its live entries end, then its email and password are erased",
  description:
    "In order, each step safe to retry: moves in progress are undone; every booking, hold and waitlist place on a slot that " +
    "has not started is cancelled through its slot (waiters promoted, webhook events as for any cancellation); then the account " +
    "is erased: email and password hash removed (the address may register again), the feed URL answers 404, tokens 401. Past " +
    "entries and audit entries keep the user id, which then names no one. A failure midway (503) leaves the account usable, " +
    "with what was cancelled cancelled. The password is checked as for PUT /user/password (401 `invalid_credentials`, 429). " +
    "409 `last_admin` for the only admin; 409 `account_busy` if new entries kept arriving meanwhile.",
  security: bearerAuth,
  middleware: [requireCurrentUser] as const,
  request: { body: jsonBody(AccountDeletion) },
  responses: { 200: jsonResponse(DeletedSchema, "Deleted"), ...errorResponses(401, 409, 413, 422, 429, 503) },
});

/** The caller's account as D1 holds it now (requireCurrentUser has seen it live). */
async function accountOf(c: Context<CallerEnv>) {
  const account = await database(c.env.DB)
    .select({ email: users.email, passwordHash: users.passwordHash })
    .from(users)
    .where(and(eq(users.id, c.get("user").id), isNull(users.deletedAt)))
    .get();
  if (!account) throw invalidToken();
  return account;
}

export const accountRoutes = createRouter()
  .openapi(changePassword, async (c) => {
    const { current_password, new_password } = c.req.valid("json");
    refuseCommonPassword(new_password, "new_password");
    const userId = c.get("user").id;
    const account = await accountOf(c);
    await confirmPassword(c.env, account, current_password, clientAddress(c));
    const db = database(c.env.DB);
    // Only over the hash just checked: of two changes at once, the second finds its current password gone.
    const checked = and(eq(users.id, userId), eq(users.passwordHash, account.passwordHash), isNull(users.deletedAt));
    const [, [changed]] = await db.batch([
      auditTokensRevoked(db, userId, "user.password_change", checked),
      db
        .update(users)
        .set({ passwordHash: await hashPassword(new_password), tokenGeneration: sql`${users.tokenGeneration} + 1` })
        .where(checked)
        .returning({ role: users.role, generation: users.tokenGeneration }),
    ]);
    forgetCaller(userId);
    if (!changed) throw invalidCredentials();
    return c.json({ access_token: await issueToken(c.env, { id: userId, role: changed.role }, changed.generation), token_type: "bearer" as const }, 200);
  })
  .openapi(revokeSessions, async (c) => {
    const userId = c.get("user").id;
    const db = database(c.env.DB);
    const live = and(eq(users.id, userId), isNull(users.deletedAt));
    await db.batch([
      auditTokensRevoked(db, userId, "user.sessions_revoke", live),
      db.update(users).set({ tokenGeneration: sql`${users.tokenGeneration} + 1` }).where(live),
    ]);
    forgetCaller(userId);
    return c.json({ message: "Signed out everywhere" }, 200);
  })
  .openapi(exportData, async (c) => {
    const data = await exportAccount(database(c.env.DB), c.get("user").id);
    c.header("Content-Disposition", 'attachment; filename="slotbook-export.json"');
    c.header("Cache-Control", "no-store");
    return c.json(data, 200);
  })
  .openapi(deleteUser, async (c) => {
    await confirmPassword(c.env, await accountOf(c), c.req.valid("json").password, clientAddress(c));
    const cancelled = await deleteAccount(c);
    return c.json({ message: "Account deleted", cancelled_bookings: cancelled }, 200);
  });
