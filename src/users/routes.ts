import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, inArray, isNull, sql, type SQL } from "drizzle-orm";
import { auditRoleChanged } from "../audit/record-accounts";
import { requireAdmin, requireUser } from "../auth/middleware";
import { categories, ROLES, userPreferences, users, type Role } from "../db/schema";
import { brokenConstraint } from "../db/failures";
import { lastAdmin, unknownCategory, userNotFound } from "../errors/catalogue";
import { createRouter } from "../http/app";
import { d1Session } from "../http/d1-session";
import { limitParam } from "../http/paging";
import { InstantOutput } from "../values/instant";
import { bearerAuth, errorResponses, jsonBody, jsonResponse } from "../http/openapi";
import { MessageSchema, PathId } from "../http/schemas";

// A user's own settings, and the admin routes that find users and change a user's role.

const PreferencesSchema = z
  .object({
    preferred_categories: z
      .array(z.number().int().positive())
      .max(100)
      .openapi({ example: [1, 2], description: "Category ids; GET /slots without `categories` shows these. Empty clears them." }),
  })
  .openapi("Preferences");

const setPreferences = createRoute({
  operationId: "setPreferences",
  method: "post",
  path: "/user/preferences",
  tags: ["Preferences"],
  summary: "Replace the caller's preferred categories",
  security: bearerAuth,
  middleware: [requireUser, d1Session] as const,
  request: { body: jsonBody(PreferencesSchema) },
  responses: {
    200: jsonResponse(MessageSchema, "Preferences updated"),
    ...errorResponses(401, 413, 422, 503),
  },
});

const getPreferences = createRoute({
  operationId: "getPreferences",
  method: "get",
  path: "/user/preferences",
  tags: ["Preferences"],
  summary: "The caller's preferred categories",
  security: bearerAuth,
  middleware: [requireUser, d1Session] as const,
  responses: {
    200: jsonResponse(PreferencesSchema, "The caller's preferred category ids, ascending"),
    ...errorResponses(401, 422, 503),
  },
});

const UserSchema = z.object({ id: z.number().int(), email: z.string(), role: z.enum(ROLES) }).openapi("User");
const RoleChange = z.object({ role: z.enum(ROLES) }).openapi("RoleChange");

const setRole = createRoute({
  operationId: "setUserRole",
  method: "put",
  path: "/admin/users/{user_id}/role",
  tags: ["Admin"],
  summary: "Promote a user to ADMIN or demote one to USER",
  description:
    "Applies at once, also to tokens already issued: admin routes read the caller's role from D1 on every request. " +
    "An admin may demote itself; demoting the last admin is 409 `last_admin`.",
  security: bearerAuth,
  middleware: [requireAdmin, d1Session] as const,
  request: { params: z.object({ user_id: PathId }), body: jsonBody(RoleChange) },
  responses: {
    200: jsonResponse(UserSchema, "The user with the role now held"),
    ...errorResponses(401, 403, 404, 409, 413, 422, 503),
  },
});

const userColumns = { id: users.id, email: users.email, role: users.role };

const USER_SEARCH = { default: 50, max: 500 };

const AccountSchema = z
  .object({ id: z.number().int(), email: z.string(), role: z.enum(ROLES), created_at: InstantOutput })
  .openapi("Account");

const findUsers = createRoute({
  operationId: "findUsers",
  method: "get",
  path: "/admin/users",
  tags: ["Admin"],
  summary: "Find users by the start of their email",
  description:
    `Users whose email starts with \`email\` (ignoring case; all users without it), ordered by email, at most \`limit\` ` +
    `(default ${USER_SEARCH.default}): a search for an organizer to find an id for PUT /admin/users/{user_id}/role.`,
  security: bearerAuth,
  middleware: [requireAdmin, d1Session] as const,
  request: {
    query: z.object({
      email: z.string().max(320).optional().openapi({ example: "ada@", description: "The start of the email" }),
      limit: limitParam(USER_SEARCH.max, USER_SEARCH.default),
    }),
  },
  responses: {
    200: jsonResponse(z.array(AccountSchema), "Matching users, by email"),
    ...errorResponses(401, 403, 422, 503),
  },
});

/** `prefix` as a LIKE pattern that matches it literally at the start (ESCAPE '\\'). */
const startsWith = (prefix: string) => `${prefix.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;

/**
 * Whether a user may be given `role`: always, except taking ADMIN away from the last admin. D1
 * evaluates it inside the UPDATE itself, so admins demoting themselves or each other at once can
 * never leave none.
 */
export function leavesAnAdmin(role: Role): SQL {
  return sql`(${role} = 'ADMIN' OR ${users.role} <> 'ADMIN'
    OR EXISTS (SELECT 1 FROM ${users} AS others WHERE others.role = 'ADMIN' AND others.id <> ${users.id}))`;
}

export const userRoutes = createRouter()
  .openapi(setPreferences, async (c) => {
    const userId = c.get("user").id;
    const wanted = [...new Set(c.req.valid("json").preferred_categories)];
    const db = c.var.db;
    if (wanted.length > 0) {
      const found = await db.select({ id: categories.id }).from(categories).where(and(inArray(categories.id, wanted), isNull(categories.archivedAt)));
      const unknown = wanted.filter((id) => !found.some((row) => row.id === id));
      if (unknown.length > 0) {
        throw unknownCategory("preferred_categories", `unknown category ids ${unknown.join(", ")}`);
      }
    }
    const clear = db.delete(userPreferences).where(eq(userPreferences.userId, userId));
    const rows = wanted.map((categoryId) => ({ userId, categoryId }));
    await (rows.length > 0 ? db.batch([clear, db.insert(userPreferences).values(rows)]) : clear).catch((error: unknown) => {
      // A category removed since it was looked up above (D1 refuses archived ones, migration 0010).
      if (brokenConstraint(error)?.kind === "foreign_key") throw unknownCategory("preferred_categories");
      throw error;
    });
    return c.json({ message: "Preferences updated" }, 200);
  })
  .openapi(getPreferences, async (c) => {
    const rows = await c.var.db
      .select({ id: userPreferences.categoryId })
      .from(userPreferences)
      .where(eq(userPreferences.userId, c.get("user").id))
      .orderBy(asc(userPreferences.categoryId));
    return c.json({ preferred_categories: rows.map((row) => row.id) }, 200);
  })
  .openapi(findUsers, async (c) => {
    const { email, limit = USER_SEARCH.default } = c.req.valid("query");
    const rows = await c.var.db
      .select({ ...userColumns, created_at: users.createdAt })
      .from(users)
      // An erased account (DELETE /user) names no one any more.
      .where(and(isNull(users.deletedAt), email ? sql`${users.email} LIKE ${startsWith(email)} ESCAPE '\\'` : undefined))
      .orderBy(asc(users.email))
      .limit(limit);
    return c.json(rows, 200);
  })
  .openapi(setRole, async (c) => {
    const userId = c.req.valid("param").user_id;
    const { role } = c.req.valid("json");
    const db = c.var.db;
    // An erased account (DELETE /user) is no one's: not found.
    const account = and(eq(users.id, userId), isNull(users.deletedAt));
    const target = and(account, leavesAnAdmin(role));
    // One batch: the entry, the change, and the user as it then is, which says why nothing changed.
    const [, [changed], [user]] = await db.batch([
      auditRoleChanged(db, c.get("user").id, role, target),
      db.update(users).set({ role }).where(target).returning(userColumns),
      db.select(userColumns).from(users).where(account),
    ]);
    if (!user) throw userNotFound();
    if (!changed) throw lastAdmin();
    return c.json(changed, 200);
  });
