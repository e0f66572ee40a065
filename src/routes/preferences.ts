import { createRoute, z } from "@hono/zod-openapi";
import { asc, eq, inArray } from "drizzle-orm";
import { requireUser } from "../auth/middleware";
import { d1Session } from "../db/session";
import { categories, userPreferences } from "../db/schema";
import { createRouter } from "../lib/create-app";
import { invalidField } from "../lib/errors";
import { bearerAuth, errorResponses, jsonBody, jsonResponse } from "../lib/openapi";
import { MessageSchema } from "../lib/schemas";

const PreferencesSchema = z
  .object({
    preferred_categories: z
      .array(z.number().int().positive())
      .max(100)
      .openapi({ example: [1, 2], description: "Category ids; GET /slots without `categories` shows these. Empty clears them." }),
  })
  .openapi("Preferences");

const setPreferences = createRoute({
  method: "post",
  path: "/user/preferences",
  tags: ["Preferences"],
  summary: "Replace the caller's preferred categories",
  security: bearerAuth,
  middleware: [requireUser, d1Session] as const,
  request: { body: jsonBody(PreferencesSchema) },
  responses: {
    200: jsonResponse(MessageSchema, "Preferences updated"),
    ...errorResponses(401, 413, 422),
  },
});

const getPreferences = createRoute({
  method: "get",
  path: "/user/preferences",
  tags: ["Preferences"],
  summary: "The caller's preferred categories",
  security: bearerAuth,
  middleware: [requireUser, d1Session] as const,
  responses: {
    200: jsonResponse(PreferencesSchema, "The caller's preferred category ids, ascending"),
    ...errorResponses(401),
  },
});

export const preferenceRoutes = createRouter()
  .openapi(setPreferences, async (c) => {
    const userId = c.get("user").id;
    const wanted = [...new Set(c.req.valid("json").preferred_categories)];
    const db = c.var.db;
    if (wanted.length > 0) {
      const found = await db.select({ id: categories.id }).from(categories).where(inArray(categories.id, wanted));
      const unknown = wanted.filter((id) => !found.some((row) => row.id === id));
      if (unknown.length > 0) {
        throw invalidField("unknown_category", "preferred_categories", `unknown category ids ${unknown.join(", ")}`);
      }
    }
    const clear = db.delete(userPreferences).where(eq(userPreferences.userId, userId));
    const rows = wanted.map((categoryId) => ({ userId, categoryId }));
    await (rows.length > 0 ? db.batch([clear, db.insert(userPreferences).values(rows)]) : clear);
    return c.json({ message: "Preferences updated" }, 200);
  })
  .openapi(getPreferences, async (c) => {
    const rows = await c.var.db
      .select({ id: userPreferences.categoryId })
      .from(userPreferences)
      .where(eq(userPreferences.userId, c.get("user").id))
      .orderBy(asc(userPreferences.categoryId));
    return c.json({ preferred_categories: rows.map((row) => row.id) }, 200);
  });
