import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, exists, gt, isNull, not, type SQL } from "drizzle-orm";
import { auditCategoryCreated, auditCategoryRemoved, auditCategoryRenamed } from "../audit/record";
import { requireAdmin } from "../auth/middleware";
import { brokenConstraint } from "../db/failures";
import { categories, timeSlots, userPreferences } from "../db/schema";
import { nowUtcIso } from "../db/time";
import { categoryExists, categoryInUse, categoryNotFound } from "../errors/catalogue";
import { createRouter } from "../http/app";
import { cacheableJson, cachingHeaders, cachingParameters, notModified } from "../http/caching";
import { d1Session } from "../http/d1-session";
import { MICRO_CACHE_NOTE, microCache } from "../http/micro-cache";
import { bearerAuth, errorResponses, jsonBody, jsonResponse } from "../http/openapi";
import { MessageSchema, PathId } from "../http/schemas";
import { InstantOutput } from "../values/instant";
import { comparisonKey, visibleText } from "../values/text";

// The catalogue of categories: listed by anyone, created, renamed and removed by admins. A
// category removed while past slots still name it is archived: those slots keep it for history,
// and D1 refuses it new slots and preferences (migration 0010).

/** A category as the API shows it; `archived_at` only where archived ones are asked for. */
export const CategorySchema = z
  .object({
    id: z.number().int(),
    name: z.string(),
    archived_at: InstantOutput.nullable().optional().openapi({ description: "With include_archived=true: when it was removed (null: it is current)" }),
  })
  .openapi("Category");
const categoryColumns = { id: categories.id, name: categories.name };

const NewCategory = z
  .object({
    name: visibleText(200).openapi({
      example: "Yoga",
      description: "Unique ignoring case and invisible characters; no control characters or bidirectional overrides",
    }),
  })
  .openapi("NewCategory");

const listCategories = createRoute({
  operationId: "listCategories",
  security: [],
  method: "get",
  path: "/categories",
  tags: ["Categories"],
  summary: "List all categories",
  description: `Current categories; with \`include_archived=true\` also the removed ones that past slots still name, each with \`archived_at\`. ${MICRO_CACHE_NOTE}`,
  middleware: [microCache, d1Session] as const,
  request: {
    query: z.object({
      include_archived: z
        .enum(["true", "false"])
        .transform((flag) => flag === "true")
        .optional()
        .openapi({ type: "boolean", description: "true: also archived categories, with archived_at" }),
    }),
  },
  parameters: cachingParameters("If-None-Match", "Cache-Control", "x-d1-bookmark"),
  responses: {
    200: { ...jsonResponse(z.array(CategorySchema), "All categories, by id"), headers: cachingHeaders },
    ...notModified,
    ...errorResponses(422, 503),
  },
});

const createCategory = createRoute({
  operationId: "createCategory",
  method: "post",
  path: "/admin/categories",
  tags: ["Admin"],
  summary: "Create a category",
  security: bearerAuth,
  middleware: [requireAdmin, d1Session] as const,
  request: { body: jsonBody(NewCategory) },
  responses: {
    201: jsonResponse(CategorySchema, "Created"),
    ...errorResponses(401, 403, 409, 413, 422, 503),
  },
});

const CategoryIdParams = z.object({ category_id: PathId });

const renameCategory = createRoute({
  operationId: "renameCategory",
  method: "patch",
  path: "/admin/categories/{category_id}",
  tags: ["Admin"],
  summary: "Rename a category",
  description: "The name follows the rules of creation; 409 `category_exists` if another category has it. Audited (`category.rename`).",
  security: bearerAuth,
  middleware: [requireAdmin, d1Session] as const,
  request: { params: CategoryIdParams, body: jsonBody(NewCategory) },
  responses: {
    200: jsonResponse(CategorySchema, "The category, renamed"),
    ...errorResponses(401, 403, 404, 409, 413, 422, 503),
  },
});

const deleteCategory = createRoute({
  operationId: "deleteCategory",
  method: "delete",
  path: "/admin/categories/{category_id}",
  tags: ["Admin"],
  summary: "Remove a category",
  description:
    "409 `category_in_use` while any of its slots has not ended (delete or move them first). A category no slot " +
    "ever named is deleted, and its name is free again; one that past slots name is archived (`archived: true`): " +
    "those slots keep it, it leaves GET /categories (see include_archived), takes no new slots (422 `unknown_category`) " +
    "and keeps its name. Either way it leaves every user's preferences. Audited (`category.delete`).",
  security: bearerAuth,
  middleware: [requireAdmin, d1Session] as const,
  request: { params: CategoryIdParams },
  responses: {
    200: jsonResponse(MessageSchema.extend({ archived: z.boolean() }), "Removed"),
    ...errorResponses(401, 403, 404, 422, 409, 503),
  },
});

export const categoryRoutes = createRouter()
  .openapi(listCategories, async (c) => {
    const { include_archived } = c.req.valid("query");
    const query = c.var.db.select({ ...categoryColumns, archived_at: categories.archivedAt }).from(categories);
    const rows = await (include_archived ? query : query.where(isNull(categories.archivedAt))).orderBy(asc(categories.id));
    const shown = include_archived ? rows : rows.map(({ id, name }) => ({ id, name }));
    return cacheableJson(c, shown, { audience: "shared" });
  })
  .openapi(createCategory, async (c) => {
    const { name } = c.req.valid("json");
    const db = c.var.db;
    const insert = db.insert(categories).values({ name, nameKey: comparisonKey(name) }).returning(categoryColumns);
    const [[category]] = await db
      .batch([insert, auditCategoryCreated(db, c.get("user").id)])
      .catch((error: unknown) => {
        if (brokenConstraint(error)?.kind === "unique") throw categoryExists(name);
        throw error;
      });
    return c.json(category, 201);
  })
  .openapi(renameCategory, async (c) => {
    const categoryId = c.req.valid("param").category_id;
    const { name } = c.req.valid("json");
    const db = c.var.db;
    const current = and(eq(categories.id, categoryId), isNull(categories.archivedAt));
    const [, [renamed]] = await db
      .batch([
        auditCategoryRenamed(db, c.get("user").id, categoryId, name),
        db.update(categories).set({ name, nameKey: comparisonKey(name) }).where(current).returning(categoryColumns),
      ])
      .catch((error: unknown) => {
        if (brokenConstraint(error)?.kind === "unique") throw categoryExists(name);
        throw error;
      });
    if (!renamed) throw categoryNotFound();
    return c.json(renamed, 200);
  })
  .openapi(deleteCategory, async (c) => {
    const categoryId = c.req.valid("param").category_id;
    const db = c.var.db;
    const now = nowUtcIso();
    const slotsOf = (where?: SQL) => exists(db.select({ id: timeSlots.id }).from(timeSlots).where(and(eq(timeSlots.categoryId, categoryId), where)));
    const notEnded = slotsOf(and(isNull(timeSlots.deletedAt), gt(timeSlots.endTime, now)));
    const named = slotsOf();
    // Every statement decides from the same condition, evaluated inside the batch (one transaction):
    // a slot created meanwhile either commits first, and the category is in use, or is refused by D1.
    const removable = and(eq(categories.id, categoryId), isNull(categories.archivedAt), not(notEnded));
    const removableNow = exists(db.select({ id: categories.id }).from(categories).where(removable));
    const [[found], , , archived] = await db.batch([
      db.select({ inUse: notEnded.mapWith(Boolean) }).from(categories).where(and(eq(categories.id, categoryId), isNull(categories.archivedAt))),
      auditCategoryRemoved(db, c.get("user").id, removable),
      db.delete(userPreferences).where(and(eq(userPreferences.categoryId, categoryId), removableNow)),
      db.update(categories).set({ archivedAt: now }).where(and(removable, named)).returning({ id: categories.id }),
      db.delete(categories).where(and(removable, not(named))),
    ]);
    if (!found) throw categoryNotFound();
    if (found.inUse) throw categoryInUse();
    return c.json({ message: "Category deleted", archived: archived.length > 0 }, 200);
  });
