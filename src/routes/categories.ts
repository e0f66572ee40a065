import { createRoute, z } from "@hono/zod-openapi";
import { asc } from "drizzle-orm";
import { d1Session } from "../db/session";
import { categories } from "../db/schema";
import { createRouter } from "../lib/create-app";
import { jsonResponse } from "../lib/openapi";

export const CategorySchema = z.object({ id: z.number().int(), name: z.string() }).openapi("Category");

const listCategories = createRoute({
  method: "get",
  path: "/categories",
  tags: ["Categories"],
  summary: "List all categories",
  middleware: [d1Session] as const,
  responses: { 200: jsonResponse(z.array(CategorySchema), "All categories, by id") },
});

export const categoryRoutes = createRouter().openapi(listCategories, async (c) => {
  const rows = await c.var.db.select().from(categories).orderBy(asc(categories.id));
  return c.json(rows, 200);
});
