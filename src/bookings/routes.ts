import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, gte, lt } from "drizzle-orm";
import { requireUser } from "../auth/middleware";
import { database } from "../db/client";
import { bookings, timeSlots } from "../db/schema";
import { bookingNotFound } from "../errors/catalogue";
import { createRouter } from "../http/app";
import { cachingHeaders, cachingParameters, notModified } from "../http/caching";
import { d1Session } from "../http/d1-session";
import { bearerAuth, errorResponses, jsonBody, jsonResponse, withRetryAfter } from "../http/openapi";
import { unwrap } from "../http/outcome";
import { FULL_LIST_READ, listAnswer } from "../http/listing";
import { after, linkHeader, PAGE, PagingQuery } from "../http/paging";
import { MessageSchema, PathId } from "../http/schemas";
import { slotObject } from "../objects/stubs";
import { InstantInput, refuseEmptyWindow } from "../values/instant";
import { BookingSchema, CalendarBookingSchema, calendarBookingColumns, toBookingView } from "../views/booking";
import { HOLD_COOLDOWN_SECONDS, HOLD_LIMIT } from "./hold-rules";
import { reschedule } from "./reschedule";
import { IdempotencyHeader, NewBookingSchema, type Idempotency, RescheduleSchema } from "./schemas";

const createBooking = createRoute({
  operationId: "createBooking",
  method: "post",
  path: "/bookings",
  tags: ["Bookings"],
  summary: "Book a place in a time slot, hold one for a while, or join a full slot's waitlist",
  security: bearerAuth,
  middleware: [requireUser] as const,
  request: { headers: IdempotencyHeader, body: jsonBody(NewBookingSchema) },
  responses: {
    201: jsonResponse(BookingSchema, "Booked (`BOOKED`), or held (`HELD` with `expires_at`) when `hold` was asked"),
    202: jsonResponse(BookingSchema, "The slot is full and `waitlist` was asked: `WAITLISTED` with `position` (1 = next)"),
    ...errorResponses(401, 404, 409, 413, 422, 503),
    409: withRetryAfter(errorResponses(409)[409]),
  },
  description:
    "A waiter is promoted to `BOOKED` automatically, first come first served, in the same step that frees a place " +
    "(a cancellation, a capacity increase, an expired hold). A hold counts against capacity and is released after " +
    "`hold_seconds` (default 300, from 30 to 1800) unless confirmed: by the slot's alarm, with no request needed. " +
    `An account has at most ${HOLD_LIMIT} live holds at once, across all slots; after its hold on a slot ended unconfirmed ` +
    `(expired or cancelled), it may hold that slot again only ${HOLD_COOLDOWN_SECONDS} seconds later (booking it is allowed at once). ` +
    "409 codes: `slot_full`, `already_booked` (the caller already has a booking, a hold " +
    `or a waitlist place on the slot), \`waitlist_full\` (1,000 waiting), \`slot_started\`, \`hold_limit_reached\` (${HOLD_LIMIT} live holds), ` +
    "`hold_cooldown` (with `Retry-After`, the seconds left); from the slot's category's booking policy (see GET /categories and the slot's " +
    "instants): `booking_not_open` (before `booking_opens_at`; with `opens_at` and `Retry-After`), `booking_closed` (from " +
    "`booking_closes_at`, for a place, a hold and a waitlist place alike), `booking_limit_reached` (the caller has " +
    "`max_active_per_user` live entries in the category's slots that have not ended).",
});

const BookingIdParams = z.object({ booking_id: PathId });

const cancelBooking = createRoute({
  operationId: "cancelBooking",
  method: "delete",
  path: "/bookings/{booking_id}",
  tags: ["Bookings"],
  summary: "Cancel a booking or hold, or leave the waitlist (its owner, or an admin); a freed place goes to the first waiter",
  security: bearerAuth,
  middleware: [requireUser] as const,
  request: { headers: IdempotencyHeader, params: BookingIdParams },
  responses: {
    200: jsonResponse(MessageSchema, "Booking cancelled"),
    ...errorResponses(401, 404, 409, 422, 503),
  },
  description:
    "Another user's booking answers 404, as if it did not exist. 409 codes: `already_cancelled`; `cancellation_closed` for the " +
    "owner's booked place from the slot's `cancellable_until` (its category's `cancel_until_minutes_before`; by default the start); " +
    "`slot_started` for a hold or a waitlist place once the slot has started. Past either, only an admin may cancel, and that is " +
    "recorded in the audit log (as is an admin cancelling someone else's booking).",
});

const confirmHold = createRoute({
  method: "post",
  path: "/bookings/{booking_id}/confirm",
  operationId: "confirmHold",
  tags: ["Bookings"],
  summary: "Confirm the caller's hold: it becomes a booking",
  security: bearerAuth,
  middleware: [requireUser] as const,
  request: { params: BookingIdParams },
  responses: {
    200: jsonResponse(BookingSchema, "Booked (a booking confirmed before is answered unchanged)"),
    ...errorResponses(401, 404, 409, 422, 503),
  },
  description:
    "Only the holder may confirm; anyone else's booking answers 404. 409 codes: `hold_expired` (the hold's time " +
    "passed and the place was released), `already_cancelled`, `not_held` (a waitlist place).",
});

const rescheduleBooking = createRoute({
  method: "post",
  path: "/bookings/{booking_id}/reschedule",
  operationId: "rescheduleBooking",
  tags: ["Bookings"],
  summary: "Move a booking to another slot (its owner, or an admin)",
  security: bearerAuth,
  middleware: [requireUser] as const,
  request: { params: BookingIdParams, body: jsonBody(RescheduleSchema) },
  responses: {
    200: jsonResponse(BookingSchema, "The new booking, for the same user; the old one is CANCELLED with `rescheduled_to` naming it"),
    ...errorResponses(401, 404, 409, 413, 422, 503),
  },
  description:
    "Either the whole move happens or none of it: on any refusal the old booking stays as it was. Another user's booking " +
    "answers 404. A booking may move only if its owner could cancel it now: `BOOKED` (a hold must be confirmed first) and " +
    "before its slot's `cancellable_until`, for an admin too; the target takes it as a new booking, under its category's policy. " +
    "409 codes: `slot_full` (the target), `slot_started` (the target slot, or the booking's own slot), `cancellation_closed` " +
    "(the booking's own slot), `booking_not_open`, `booking_closed` and `booking_limit_reached` (the target; the booking moved " +
    "does not count toward the limit), `already_booked` (the user already holds a booking on the target slot), `already_cancelled`, " +
    "`not_booked` (a hold or a waitlist place), `reschedule_in_progress`. 422 `same_slot`.",
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
  summary: "The caller's bookings, holds and waitlist places, live and ended, with their slot's times: all of them, or a page at a time",
  description:
    `Without \`limit\` and \`cursor\`, every matching entry (as the original API answered; more than ${FULL_LIST_READ} are streamed, ` +
    `without an ETag). With \`limit\` (at most ${PAGE.max}; a \`cursor\` alone pages by ${PAGE.default}), one page, and a ` +
    '`Link: <…>; rel="next"` header gives the next.',
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

/** Which slot's object owns a booking; the rules are checked there. */
export async function slotOfBooking(env: Env, bookingId: number): Promise<number> {
  const booking = await database(env.DB).select({ slotId: bookings.timeSlotId }).from(bookings).where(eq(bookings.id, bookingId)).get();
  if (!booking) throw bookingNotFound();
  return booking.slotId;
}

const idempotencyOf = (key: string | undefined, request: string): Idempotency | undefined => (key === undefined ? undefined : { key, request });

export const bookingRoutes = createRouter()
  .openapi(createBooking, async (c) => {
    const body = c.req.valid("json");
    const slotId = body.time_slot_id;
    const idempotency = idempotencyOf(c.req.valid("header")["idempotency-key"], `POST /bookings ${JSON.stringify(body)}`);
    const { waitlist, hold, hold_seconds } = body;
    const booking = unwrap(c, await slotObject(c.env, slotId).book(slotId, c.get("user").id, { waitlist, hold, hold_seconds }, idempotency));
    return booking.status === "WAITLISTED" ? c.json(booking, 202) : c.json(booking, 201);
  })
  .openapi(cancelBooking, async (c) => {
    const bookingId = c.req.valid("param").booking_id;
    const slotId = await slotOfBooking(c.env, bookingId);
    const idempotency = idempotencyOf(c.req.valid("header")["idempotency-key"], `DELETE /bookings/${bookingId}`);
    unwrap(c, await slotObject(c.env, slotId).cancel(slotId, bookingId, c.get("user").id, idempotency));
    return c.json({ message: "Booking cancelled" }, 200);
  })
  .openapi(confirmHold, async (c) => {
    const bookingId = c.req.valid("param").booking_id;
    const slotId = await slotOfBooking(c.env, bookingId);
    return c.json(unwrap(c, await slotObject(c.env, slotId).confirm(slotId, bookingId, c.get("user").id)), 200);
  })
  .openapi(rescheduleBooking, async (c) => {
    const booking = await reschedule(c, c.req.valid("param").booking_id, c.req.valid("json").time_slot_id);
    return c.json(booking, 200);
  })
  .openapi(listBookings, async (c) => {
    const { from, to, limit, cursor } = c.req.valid("query");
    refuseEmptyWindow(from, to);
    const conditions = and(eq(bookings.userId, c.get("user").id), from ? gte(timeSlots.startTime, from) : undefined, to ? lt(timeSlots.startTime, to) : undefined);
    return listAnswer(c, {
      paging: { limit, cursor },
      read: (key, rows) =>
        c.var.db
          .select(calendarBookingColumns)
          .from(bookings)
          .innerJoin(timeSlots, eq(timeSlots.id, bookings.timeSlotId))
          .where(and(conditions, after(timeSlots.startTime, bookings.id, key)))
          .orderBy(asc(timeSlots.startTime), asc(bookings.id))
          .limit(rows),
      keyOf: (row) => ({ start: row.start_time, id: row.id }),
      view: toBookingView,
      policy: { audience: "personal", varies: "Authorization" },
    });
  });
