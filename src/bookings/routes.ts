import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, gte, lt } from "drizzle-orm";
import { requireUser } from "../auth/middleware";
import { database } from "../db/client";
import { bookings, timeSlots } from "../db/schema";
import { d1Session } from "../db/session";
import { createRouter } from "../http/app";
import { cacheableJson, cachingHeaders, cachingParameters, notModified } from "../http/caching";
import { bookingNotFound, invalidTimeRange } from "../http/errors";
import { InstantInput } from "../http/instant";
import { bearerAuth, errorResponses, jsonBody, jsonResponse } from "../http/openapi";
import { unwrap } from "../http/outcome";
import { after, linkHeader, PAGE, page, PagingQuery } from "../http/paging";
import { MessageSchema, PathId } from "../http/schemas";
import { slotObject, type Idempotency } from "../slots/slot-booking-object";
import { reschedule } from "./reschedule";
import { BookingSchema, CalendarBookingSchema, calendarBookingColumns, IdempotencyHeader, NewBookingSchema, RescheduleSchema } from "./schemas";

const createBooking = createRoute({
  operationId: "createBooking",
  method: "post",
  path: "/bookings",
  tags: ["Bookings"],
  summary: "Book a place in a time slot",
  security: bearerAuth,
  middleware: [requireUser] as const,
  request: { headers: IdempotencyHeader, body: jsonBody(NewBookingSchema) },
  responses: {
    201: jsonResponse(BookingSchema, "Booked"),
    ...errorResponses(401, 404, 409, 413, 422, 503),
  },
  description: "409 codes: `slot_full`, `already_booked` (the caller holds a live booking on the slot), `slot_started`.",
});

const cancelBooking = createRoute({
  operationId: "cancelBooking",
  method: "delete",
  path: "/bookings/{booking_id}",
  tags: ["Bookings"],
  summary: "Cancel a booking (its owner, or an admin); frees the place",
  security: bearerAuth,
  middleware: [requireUser] as const,
  request: { headers: IdempotencyHeader, params: z.object({ booking_id: PathId }) },
  responses: {
    200: jsonResponse(MessageSchema, "Booking cancelled"),
    ...errorResponses(401, 404, 409, 422, 503),
  },
  description:
    "Another user's booking answers 404, as if it did not exist. 409 codes: `already_cancelled`, and `slot_started` once the slot " +
    "has started: then only an admin may cancel, and that is recorded in the audit log (as is an admin cancelling someone else's booking).",
});

const rescheduleBooking = createRoute({
  method: "post",
  path: "/bookings/{booking_id}/reschedule",
  operationId: "rescheduleBooking",
  tags: ["Bookings"],
  summary: "Move a booking to another slot (its owner, or an admin)",
  security: bearerAuth,
  middleware: [requireUser] as const,
  request: { params: z.object({ booking_id: PathId }), body: jsonBody(RescheduleSchema) },
  responses: {
    200: jsonResponse(BookingSchema, "The new booking, for the same user; the old one is CANCELLED with `rescheduled_to` naming it"),
    ...errorResponses(401, 404, 409, 413, 422, 503),
  },
  description:
    "Either the whole move happens or none of it: on any refusal the old booking stays as it was. Another user's booking " +
    "answers 404. 409 codes: `slot_full`, `slot_started` (the target slot), `already_booked` (the user already holds a " +
    "booking on the target slot), `already_cancelled`, `reschedule_in_progress`. 422 `same_slot`.",
});

const BookingQuery = PagingQuery.extend({
  from: InstantInput.optional().openapi({ description: "Only bookings whose slot starts at or after this instant" }),
  to: InstantInput.optional().openapi({ description: "Only bookings whose slot starts before this instant" }),
});

const listBookings = createRoute({
  operationId: "listBookings",
  method: "get",
  path: "/bookings",
  tags: ["Bookings"],
  summary: "The caller's bookings, live and cancelled, with their slot's times, a page at a time",
  description: `At most \`limit\` bookings (default ${PAGE.default}, at most ${PAGE.max}); a \`Link: <…>; rel="next"\` header gives the next page.`,
  security: bearerAuth,
  middleware: [requireUser, d1Session] as const,
  request: { query: BookingQuery },
  parameters: cachingParameters("If-None-Match", "x-d1-bookmark"),
  responses: {
    200: {
      ...jsonResponse(z.array(CalendarBookingSchema), "Bookings ordered by the slot's start_time, then booking id"),
      headers: { ...cachingHeaders, ...linkHeader },
    },
    ...notModified,
    ...errorResponses(401, 422, 503),
  },
});

const idempotencyOf = (key: string | undefined, request: string): Idempotency | undefined => (key === undefined ? undefined : { key, request });

export const bookingRoutes = createRouter()
  .openapi(createBooking, async (c) => {
    const body = c.req.valid("json");
    const slotId = body.time_slot_id;
    const idempotency = idempotencyOf(c.req.valid("header")["idempotency-key"], `POST /bookings ${JSON.stringify(body)}`);
    const booking = unwrap(c, await slotObject(c.env, slotId).book(slotId, c.get("user").id, idempotency));
    return c.json(booking, 201);
  })
  .openapi(cancelBooking, async (c) => {
    const bookingId = c.req.valid("param").booking_id;
    // Only to find which slot's object owns the booking; the rules are checked there.
    const booking = await database(c.env.DB).select({ slotId: bookings.timeSlotId }).from(bookings).where(eq(bookings.id, bookingId)).get();
    if (!booking) throw bookingNotFound();
    const idempotency = idempotencyOf(c.req.valid("header")["idempotency-key"], `DELETE /bookings/${bookingId}`);
    unwrap(c, await slotObject(c.env, booking.slotId).cancel(booking.slotId, bookingId, c.get("user").id, idempotency));
    return c.json({ message: "Booking cancelled" }, 200);
  })
  .openapi(rescheduleBooking, async (c) => {
    const booking = await reschedule(c, c.req.valid("param").booking_id, c.req.valid("json").time_slot_id);
    return c.json(booking, 200);
  })
  .openapi(listBookings, async (c) => {
    const { from, to, limit = PAGE.default, cursor } = c.req.valid("query");
    if (from && to && from >= to) throw invalidTimeRange("from", "must be before to");
    const rows = await c.var.db
      .select(calendarBookingColumns)
      .from(bookings)
      .innerJoin(timeSlots, eq(timeSlots.id, bookings.timeSlotId))
      .where(
        and(
          eq(bookings.userId, c.get("user").id),
          after(timeSlots.startTime, bookings.id, cursor),
          from ? gte(timeSlots.startTime, from) : undefined,
          to ? lt(timeSlots.startTime, to) : undefined,
        ),
      )
      .orderBy(asc(timeSlots.startTime), asc(bookings.id))
      .limit(limit + 1);
    const items = page(c, rows, limit, (row) => ({ start: row.start_time, id: row.id }));
    return cacheableJson(c, items, { audience: "personal", varies: "Authorization" });
  });
