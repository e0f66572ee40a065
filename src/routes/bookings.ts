import { createRoute, z } from "@hono/zod-openapi";
import { asc, eq } from "drizzle-orm";
import { requireUser } from "../auth/middleware";
import { database } from "../db/client";
import { bookings, timeSlots } from "../db/schema";
import { createRouter } from "../lib/create-app";
import { AppError, unwrap } from "../lib/errors";
import { bearerAuth, errorResponses, jsonBody, jsonResponse } from "../lib/openapi";
import { BookingSchema, MessageSchema, PathId } from "../lib/schemas";
import { InstantOutput } from "../lib/time";
import { slotObject } from "../slot-booking-object";

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
  request: { body: jsonBody(NewBooking) },
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
  request: { params: z.object({ booking_id: PathId }) },
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
  middleware: [requireUser] as const,
  responses: {
    200: jsonResponse(z.array(CalendarBooking), "Bookings ordered by the slot's start_time"),
    ...errorResponses(401),
  },
});

const bookingNotFound = () => new AppError(404, "booking_not_found", "Booking not found");

export const bookingRoutes = createRouter()
  .openapi(createBooking, async (c) => {
    const slotId = c.req.valid("json").time_slot_id;
    const booking = unwrap(await slotObject(c.env, slotId).book(slotId, c.get("user").id));
    return c.json(booking, 201);
  })
  .openapi(cancelBooking, async (c) => {
    const bookingId = c.req.valid("param").booking_id;
    // Only to find which slot's object owns the booking; the rules are checked there.
    const booking = await database(c.env.DB).select({ slotId: bookings.timeSlotId }).from(bookings).where(eq(bookings.id, bookingId)).get();
    if (!booking) throw bookingNotFound();
    unwrap(await slotObject(c.env, booking.slotId).cancel(booking.slotId, bookingId, c.get("user").id));
    return c.json({ message: "Booking cancelled" }, 200);
  })
  .openapi(listBookings, async (c) => {
    const rows = await database(c.env.DB)
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
