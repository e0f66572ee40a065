import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, exists, gt, isNull, not, type SQL } from "drizzle-orm";
import { auditCategoryCreated, auditCategoryPolicy, auditCategoryRemoved, auditCategoryRenamed } from "../audit/record";
import { requireAdmin } from "../auth/middleware";
import { batchOf } from "../db/client";
import { brokenConstraint } from "../db/failures";
import { categories, timeSlots, userPreferences } from "../db/schema";
import { nowUtcIso } from "../db/time";
import { categoryExists, categoryInUse, categoryNotFound, invalidValue } from "../errors/catalogue";
import { createRouter } from "../http/app";
import { cacheableJson, cachingHeaders, cachingParameters, notModified } from "../http/caching";
import { d1Session } from "../http/d1-session";
import { MICRO_CACHE_NOTE, microCache } from "../http/micro-cache";
import { bearerAuth, errorResponses, jsonBody, jsonResponse } from "../http/openapi";
import { MessageSchema, PathId } from "../http/schemas";
import { InstantOutput } from "../values/instant";
import { comparisonKey, visibleText } from "../values/text";
import { type Policy, PolicyFields, policyColumns, policyJson, policyRefusal, policyValues } from "./policy";

// The catalogue of categories: listed by anyone, created, renamed and removed by admins. A
// category removed while past slots still name it is archived: those slots keep it for history,
// and D1 refuses it new slots and preferences (migration 0010). Each category has a booking
// policy (policy.ts), set at creation or changed later.

/** A category as the API shows it; `archived_at` only where archived ones are asked for. */
export const CategorySchema = z
  .object({
    id: z.number().int(),
    name: z.string(),
    ...PolicyFields,
    archived_at: InstantOutput.nullable().optional().openapi({ description: "With include_archived=true: when it was removed (null: it is current)" }),
  })
  .openapi("Category");
const categoryColumns = { id: categories.id, name: categories.name, ...policyColumns };

const categoryName = visibleText(200).openapi({
  example: "Yoga",
  description: "Unique ignoring case and invisible characters; no control characters or bidirectional overrides",
});
const policyGiven = Object.fromEntries(Object.entries(PolicyFields).map(([key, field]) => [key, field.optional()])) as {
  [K in keyof typeof PolicyFields]: z.ZodOptional<(typeof PolicyFields)[K]>;
};

const NewCategory = z.object({ name: categoryName, ...policyGiven }).openapi("NewCategory");
const CategoryChanges = z.object({ name: categoryName.optional(), ...policyGiven }).openapi("CategoryChanges");

/** The policy rules a request gives (a rule left out is left as it is). */
const givenPolicy = (input: Partial<Policy>): Partial<Policy> =>
  Object.fromEntries(Object.keys(PolicyFields).flatMap((key) => (input[key as keyof Policy] === undefined ? [] : [[key, input[key as keyof Policy]]])));

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
  description: "With a booking policy if given (each rule null or left out: none; `cancel_until_minutes_before` defaults to 0). Audited (`category.create`).",
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
  summary: "Rename a category, or change its booking policy",
  description:
    "Give at least one field. The name follows the rules of creation; 409 `category_exists` if another category has it. " +
    "A policy rule given changes (null: no such rule), one left out stays; every slot of the category takes the instants " +
    "of the new rules at once (`booking_opens_at`, `booking_closes_at`, `cancellable_until`), entries already made stay. " +
    "Audited (`category.rename`, `category.policy`).",
  security: bearerAuth,
  middleware: [requireAdmin, d1Session] as const,
  request: { params: CategoryIdParams, body: jsonBody(CategoryChanges) },
  responses: {
    200: jsonResponse(CategorySchema, "The category as changed"),
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
    const shown = include_archived ? rows : rows.map(({ archived_at: _, ...category }) => category);
    return cacheableJson(c, shown, { audience: "shared" });
  })
  .openapi(createCategory, async (c) => {
    const { name, ...policy } = c.req.valid("json");
    const db = c.var.db;
    const insert = db
      .insert(categories)
      .values({ name, nameKey: comparisonKey(name), ...policyValues(policy) })
      .returning(categoryColumns);
    const [[category]] = await db
      .batch([insert, auditCategoryCreated(db, c.get("user").id)])
      .catch((error: unknown) => {
        if (brokenConstraint(error)?.kind === "unique") throw categoryExists(name);
        throw policyRefusal(error) ?? error;
      });
    return c.json(category, 201);
  })
  .openapi(renameCategory, async (c) => {
    const categoryId = c.req.valid("param").category_id;
    const { name, ...input } = c.req.valid("json");
    const policy = givenPolicy(input);
    if (name === undefined && Object.keys(policy).length === 0) throw invalidValue("body", `give at least one of name, ${Object.keys(PolicyFields).join(", ")}`);
    const db = c.var.db;
    const actorId = c.get("user").id;
    const current = and(eq(categories.id, categoryId), isNull(categories.archivedAt));
    const named = name === undefined ? {} : { name, nameKey: comparisonKey(name) };
    const update = db.update(categories).set({ ...named, ...policyValues(policy) }).where(current).returning(categoryColumns);
    // The audit entries go first: they read the category as it was.
    const audits = [...(name === undefined ? [] : [auditCategoryRenamed(db, actorId, categoryId, name)]), auditCategoryPolicy(db, actorId, categoryId, policyJson(), policyJson(policy))];
    const results = await batchOf(db, [...audits, update]).catch((error: unknown) => {
      if (brokenConstraint(error)?.kind === "unique") throw categoryExists(name ?? "");
      throw policyRefusal(error) ?? error;
    });
    const [changed] = results.at(-1) as Awaited<typeof update>;
    if (!changed) throw categoryNotFound();
    return c.json(changed, 200);
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
