import { createRoute, z } from "@hono/zod-openapi";
import { asc, eq } from "drizzle-orm";
import { requireUser } from "../auth/middleware";
import { database } from "../db/client";
import { d1Session } from "../db/session";
import { bookings, timeSlots } from "../db/schema";
import { createRouter } from "../lib/create-app";
import { AppError } from "../lib/errors";
import { unwrap } from "../lib/outcome";
import { bearerAuth, errorResponses, jsonBody, jsonResponse } from "../lib/openapi";
import { BookingSchema, MessageSchema, PathId } from "../lib/schemas";
import { InstantOutput } from "../lib/time";
import { slotObject, type Idempotency } from "../slot-booking-object";

const IdempotencyHeader = z.object({
  "idempotency-key": z
    .string()
    .regex(/^[\x21-\x7e]{1,255}$/, "Expected 1 to 255 visible ASCII characters")
    .optional()
    .openapi({
      description:
        "Makes a retry safe: the same key from the same user within 24 hours gets the first answer again " +
        "(same status and body, with `Idempotent-Replayed: true`) without acting twice; reusing it for another request is a 422.",
      example: "5f0c8a8e-4f0b-4c1e-9a59-1b2f1d1c0b7a",
    }),
});

const NewBooking = z.object({ time_slot_id: z.number().int().positive().openapi({ example: 1 }) }).openapi("NewBooking");

const CalendarBooking = BookingSchema.extend({
  category_id: z.number().int(),
  start_time: InstantOutput,
  end_time: InstantOutput,
}).openapi("CalendarBooking");

const createBooking = createRoute({
  method: "post",
  path: "/bookings",
  tags: ["Bookings"],
  summary: "Book a place in a time slot",
  security: bearerAuth,
  middleware: [requireUser] as const,
  request: { headers: IdempotencyHeader, body: jsonBody(NewBooking) },
  responses: {
    201: jsonResponse(BookingSchema, "Booked"),
    ...errorResponses(401, 404, 409, 413, 422, 503),
  },
  description: "409 codes: `slot_full`, `already_booked` (the caller holds a live booking on the slot), `slot_started`.",
});

const cancelBooking = createRoute({
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
  description: "Another user's booking answers 404, as if it did not exist. 409 `already_cancelled`.",
});

const listBookings = createRoute({
  method: "get",
  path: "/bookings",
  tags: ["Bookings"],
  summary: "The caller's bookings, live and cancelled, with their slot's times",
  security: bearerAuth,
  middleware: [requireUser, d1Session] as const,
  responses: {
    200: jsonResponse(z.array(CalendarBooking), "Bookings ordered by the slot's start_time"),
    ...errorResponses(401),
  },
});

const bookingNotFound = () => new AppError(404, "booking_not_found", "Booking not found");

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
  .openapi(listBookings, async (c) => {
    const rows = await c.var.db
      .select({
        id: bookings.id,
        user_id: bookings.userId,
        time_slot_id: bookings.timeSlotId,
        status: bookings.status,
        category_id: timeSlots.categoryId,
        start_time: timeSlots.startTime,
        end_time: timeSlots.endTime,
      })
      .from(bookings)
      .innerJoin(timeSlots, eq(timeSlots.id, bookings.timeSlotId))
      .where(eq(bookings.userId, c.get("user").id))
      .orderBy(asc(timeSlots.startTime), asc(bookings.id));
    return c.json(rows, 200);
  });
