import { createRoute, z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import { auditSeriesCreated, auditSlotCreated } from "../audit/record";
import { requireAdmin } from "../auth/middleware";
import { brokenConstraint } from "../db/failures";
import { insertedRow, lastInserted } from "../db/insert-select";
import { timeSlots, type SlotChanges } from "../db/schema";
import { toUtcIso } from "../db/time";
import { invalidValue, unknownCategory } from "../errors/catalogue";
import { createRouter } from "../http/app";
import { d1Session } from "../http/d1-session";
import { bearerAuth, errorResponses, jsonBody, jsonResponse } from "../http/openapi";
import { unwrap } from "../http/outcome";
import { MessageSchema } from "../http/schemas";
import { slotObject } from "../objects/stubs";
import { SlotSchema, toSlotView } from "../views/slot";
import { dispatcher } from "../webhooks/dispatch";
import { slotsCreated } from "../webhooks/outbox";
import { NewSlot, SlotIdParams, SlotUpdate, startNotBeforeEnd } from "./schemas";
import { expandRecurrence, NewSeries, parseRecurrence } from "./series";

// The admin's slot routes: create a slot or a series, change or delete one (through its object).

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

const createSeries = createRoute({
  ...admin,
  method: "post",
  path: "/admin/slots/series",
  operationId: "createSlotSeries",
  summary: "Create a recurring series of time slots",
  description:
    "Expands `rrule` from `first_start_local` in `timezone`, keeping the local wall-clock time across daylight-saving " +
    "changes (09:00 in Europe/Berlin is 08:00Z in winter, 07:00Z in summer). All slots are created in one D1 batch " +
    "with one audit entry (`slot.create_series`), or none. 422 naming `rrule` for a rule outside the supported subset, " +
    "one that selects no date, or one of more than 500 occurrences.",
  middleware: [requireAdmin, d1Session] as const,
  request: { body: jsonBody(NewSeries) },
  responses: {
    201: jsonResponse(z.array(SlotSchema), "The created slots, by start_time"),
    ...errorResponses(401, 403, 413, 422, 503),
  },
});

export const slotAdminRoutes = createRouter()
  .openapi(createSlot, async (c) => {
    const input = c.req.valid("json");
    if (input.start_time >= input.end_time) throw startNotBeforeEnd();
    // A new slot has no bookings yet, so nothing to serialize: its object is first used by a booking.
    const db = c.var.db;
    const values = {
      categoryId: input.category_id,
      startTime: input.start_time,
      endTime: input.end_time,
      maxCapacity: input.max_capacity,
      timezone: input.timezone,
    };
    const [, [slot]] = await db
      .batch([
        db.insert(timeSlots).values(values),
        db.select().from(timeSlots).where(lastInserted(timeSlots.id)),
        auditSlotCreated(db, c.get("user").id),
        slotsCreated(db),
      ])
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
      timezone: input.timezone,
    };
    const given = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)) as SlotChanges;
    if (Object.keys(given).length === 0) {
      throw invalidValue("body", "give at least one of category_id, start_time, end_time, max_capacity, timezone");
    }
    return c.json(unwrap(c, await slotObject(c.env, slotId).update(slotId, given, c.get("user").id)), 200);
  })
  .openapi(deleteSlot, async (c) => {
    const slotId = c.req.valid("param").slot_id;
    const { cancelledBookings } = unwrap(c, await slotObject(c.env, slotId).delete(slotId, c.get("user").id));
    return c.json({ message: "Slot deleted", cancelled_bookings: cancelledBookings }, 200);
  })
  .openapi(createSeries, async (c) => {
    const input = c.req.valid("json");
    const starts = expandRecurrence(parseRecurrence(input.rrule), input.timezone, input.first_start_local);
    if (starts.length === 0) throw invalidValue("rrule", "selects no date on or after first_start_local");
    const durationMs = input.duration_minutes * 60_000;
    const occurrences = starts.map((start) => [toUtcIso(new Date(start)), toUtcIso(new Date(start + durationMs))]);
    const db = c.var.db;
    // One INSERT of every occurrence from one JSON parameter (D1 binds at most 100 per statement).
    const occurrence = (index: number) => sql`json_extract(value, ${`$[${index}]`})`;
    const row = insertedRow(timeSlots, {
      categoryId: input.category_id,
      startTime: occurrence(0),
      endTime: occurrence(1),
      maxCapacity: input.max_capacity,
      bookedCount: sql`0`,
      heldCount: sql`0`,
      waitlistLength: sql`0`,
      timezone: input.timezone,
      version: sql`0`,
      modifiedAt: sql`strftime('%Y-%m-%dT%H:%M:%SZ', 'now')`,
    });
    const insert = db.insert(timeSlots).select(db.select(row).from(sql`json_each(${JSON.stringify(occurrences)})`).orderBy(sql`key`));
    const created = db.select().from(timeSlots).where(lastInserted(timeSlots.id, occurrences.length)).orderBy(timeSlots.id);
    const series = { ...input, first_start_local: toUtcIso(new Date(input.first_start_local)).slice(0, 19) };
    const [, slots] = await db
      .batch([insert, created, auditSeriesCreated(db, c.get("user").id, occurrences.length, series), slotsCreated(db, occurrences.length)])
      .then(dispatcher(c.env, c.executionCtx))
      .catch((error: unknown) => {
        if (brokenConstraint(error)?.kind === "foreign_key") throw unknownCategory("category_id");
        throw error;
      });
    return c.json(slots.map(toSlotView), 201);
  });
