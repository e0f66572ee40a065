import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, gte, inArray, isNull, lt, sql, type SQL } from "drizzle-orm";
import { auditSlotCreated } from "../audit/record";
import { identifyCaller, requireAdmin } from "../auth/middleware";
import { timeSlots, userPreferences, type SlotChanges } from "../db/schema";
import { d1Session } from "../db/session";
import { createRouter } from "../http/app";
import { brokenConstraint, invalidTimeRange, invalidValue, unknownCategory } from "../http/errors";
import { bearerAuth, errorResponses, jsonBody, jsonResponse } from "../http/openapi";
import { unwrap } from "../http/outcome";
import { MessageSchema } from "../http/schemas";
import { dispatcher } from "../webhooks/dispatch";
import { slotCreated } from "../webhooks/outbox";
import { slotObject } from "./slot-booking-object";
import { NewSlot, SlotIdParams, SlotQuery, SlotSchema, SlotUpdate, startNotBeforeEnd, toSlotView } from "./schemas";

const listSlots = createRoute({
  operationId: "listSlots",
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
    ...errorResponses(401, 422, 503),
  },
});

const admin = { tags: ["Admin"], security: bearerAuth };

const createSlot = createRoute({
  ...admin,
  operationId: "createSlot",
  method: "post",
  path: "/admin/slots",
  summary: "Create a time slot",
  middleware: [requireAdmin, d1Session] as const,
  request: { body: jsonBody(NewSlot) },
  responses: {
    201: jsonResponse(SlotSchema, "Created"),
    ...errorResponses(401, 403, 413, 422, 503),
  },
});

// Changes to an existing slot go through its object (slot-booking-object.ts), which uses D1 itself.

const updateSlot = createRoute({
  ...admin,
  operationId: "updateSlot",
  method: "put",
  path: "/admin/slots/{slot_id}",
  summary: "Change a time slot (partial)",
  description: "409 `capacity_below_bookings` when max_capacity would fall below the places already booked.",
  middleware: [requireAdmin] as const,
  request: { params: SlotIdParams, body: jsonBody(SlotUpdate) },
  responses: {
    200: jsonResponse(SlotSchema, "The slot after the change"),
    ...errorResponses(401, 403, 404, 409, 413, 422, 503),
  },
});

const deleteSlot = createRoute({
  ...admin,
  operationId: "deleteSlot",
  method: "delete",
  path: "/admin/slots/{slot_id}",
  summary: "Delete a time slot, cancelling its bookings",
  middleware: [requireAdmin] as const,
  request: { params: SlotIdParams },
  responses: {
    200: jsonResponse(MessageSchema.extend({ cancelled_bookings: z.number().int() }), "Slot deleted"),
    ...errorResponses(401, 403, 404, 422, 503),
  },
});

export const slotRoutes = createRouter()
  .openapi(listSlots, async (c) => {
    const { categories, from, to } = c.req.valid("query");
    if (from && to && from >= to) throw invalidTimeRange("from", "must be before to");
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
    const rows = await c.var.db
      .select()
      .from(timeSlots)
      .where(and(...conditions))
      .orderBy(asc(timeSlots.startTime), asc(timeSlots.id));
    return c.json(rows.map(toSlotView), 200);
  })
  .openapi(createSlot, async (c) => {
    const input = c.req.valid("json");
    if (input.start_time >= input.end_time) throw startNotBeforeEnd();
    // A new slot has no bookings yet, so nothing to serialize: its object is first used by a booking.
    const db = c.var.db;
    const values = { categoryId: input.category_id, startTime: input.start_time, endTime: input.end_time, maxCapacity: input.max_capacity };
    const [[slot]] = await db
      .batch([db.insert(timeSlots).values(values).returning(), auditSlotCreated(db, c.get("user").id), slotCreated(db)])
      .then(dispatcher(c.env, c.executionCtx))
      .catch((error: unknown) => {
        if (brokenConstraint(error)?.kind === "foreign_key") throw unknownCategory("category_id");
        throw error;
      });
    return c.json(toSlotView(slot), 201);
  })
  .openapi(updateSlot, async (c) => {
    const slotId = c.req.valid("param").slot_id;
    const input = c.req.valid("json");
    const changes: SlotChanges = {
      categoryId: input.category_id,
      startTime: input.start_time,
      endTime: input.end_time,
      maxCapacity: input.max_capacity,
    };
    const given = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)) as SlotChanges;
    if (Object.keys(given).length === 0) {
      throw invalidValue("body", "give at least one of category_id, start_time, end_time, max_capacity");
    }
    return c.json(unwrap(c, await slotObject(c.env, slotId).update(slotId, given, c.get("user").id)), 200);
  })
  .openapi(deleteSlot, async (c) => {
    const slotId = c.req.valid("param").slot_id;
    const { cancelledBookings } = unwrap(c, await slotObject(c.env, slotId).delete(slotId, c.get("user").id));
    return c.json({ message: "Slot deleted", cancelled_bookings: cancelledBookings }, 200);
  });
