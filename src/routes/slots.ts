import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, gte, inArray, isNull, lt, sql, type SQL } from "drizzle-orm";
import { identifyCaller } from "../auth/middleware";
import { d1Session } from "../db/session";
import { availableSpots, timeSlots, userPreferences } from "../db/schema";
import { createRouter } from "../lib/create-app";
import { invalidField } from "../lib/errors";
import { bearerAuth, errorResponses, jsonResponse } from "../lib/openapi";
import { SlotSchema } from "../lib/schemas";
import { InstantInput } from "../lib/time";

const SlotQuery = z.object({
  categories: z
    .string()
    .regex(/^\d{1,15}(,\d{1,15}){0,49}$/, "Expected up to 50 comma-separated category ids, e.g. 1,2")
    .transform((list) => list.split(",").map(Number))
    .optional()
    .openapi({ type: "string", example: "1,2", description: "Only these categories. Without it, a signed-in caller with preferences sees those categories; everyone else sees all." }),
  from: InstantInput.optional().openapi({ description: "Only slots starting at or after this instant" }),
  to: InstantInput.optional().openapi({ description: "Only slots starting before this instant" }),
});

const listSlots = createRoute({
  method: "get",
  path: "/slots",
  tags: ["Slots"],
  summary: "List time slots with their available spots, by start time",
  description: "Authentication is optional; it only selects the caller's preferred categories by default.",
  security: [{}, ...bearerAuth],
  middleware: [identifyCaller, d1Session] as const,
  request: { query: SlotQuery },
  responses: {
    200: jsonResponse(z.array(SlotSchema), "Slots, ordered by start_time"),
    ...errorResponses(401, 422),
  },
});

export const slotRoutes = createRouter().openapi(listSlots, async (c) => {
  const { categories, from, to } = c.req.valid("query");
  if (from && to && from >= to) throw invalidField("invalid_time_range", "from", "must be before to");
  const caller = c.get("user");
  const conditions: (SQL | undefined)[] = [isNull(timeSlots.deletedAt)];
  if (categories) {
    conditions.push(inArray(timeSlots.categoryId, categories));
  } else if (caller) {
    const preferred = sql`SELECT ${userPreferences.categoryId} FROM ${userPreferences} WHERE ${userPreferences.userId} = ${caller.id}`;
    conditions.push(sql`(NOT EXISTS (${preferred}) OR ${timeSlots.categoryId} IN (${preferred}))`);
  }
  if (from) conditions.push(gte(timeSlots.startTime, from));
  if (to) conditions.push(lt(timeSlots.startTime, to));
  // One query for the whole list: the count is a column kept by D1 triggers, not a query per slot.
  const slots = await c.var.db
    .select({
      id: timeSlots.id,
      category_id: timeSlots.categoryId,
      start_time: timeSlots.startTime,
      end_time: timeSlots.endTime,
      max_capacity: timeSlots.maxCapacity,
      available_spots: availableSpots,
    })
    .from(timeSlots)
    .where(and(...conditions))
    .orderBy(asc(timeSlots.startTime), asc(timeSlots.id));
  return c.json(slots, 200);
});
