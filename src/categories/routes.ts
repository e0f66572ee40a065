import { createRoute, z } from "@hono/zod-openapi";
import { asc } from "drizzle-orm";
import { auditCategoryCreated } from "../audit/record";
import { requireAdmin } from "../auth/middleware";
import { brokenConstraint } from "../db/failures";
import { categories } from "../db/schema";
import { categoryExists } from "../errors/catalogue";
import { createRouter } from "../http/app";
import { cacheableJson, cachingHeaders, cachingParameters, MICRO_CACHE_NOTE, microCache, notModified } from "../http/caching";
import { d1Session } from "../http/d1-session";
import { bearerAuth, errorResponses, jsonBody, jsonResponse } from "../http/openapi";
import { comparisonKey, visibleText } from "../values/text";

/** A category as the API shows it. */
export const CategorySchema = z.object({ id: z.number().int(), name: z.string() }).openapi("Category");
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
  description: MICRO_CACHE_NOTE,
  middleware: [microCache, d1Session] as const,
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

export const categoryRoutes = createRouter()
  .openapi(listCategories, async (c) => {
    const rows = await c.var.db.select(categoryColumns).from(categories).orderBy(asc(categories.id));
    return cacheableJson(c, rows, { audience: "shared" });
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
  });
