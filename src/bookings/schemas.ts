import { z } from "@hono/zod-openapi";
import { sql, type SQL } from "drizzle-orm";
import type { AnySQLiteColumn } from "drizzle-orm/sqlite-core";
import { BOOKING_STATUSES, bookings, timeSlots } from "../db/schema";
import { InstantOutput } from "../http/instant";

/** A booking as the API shows it. */
export const BookingSchema = z
  .object({
    id: z.number().int(),
    user_id: z.number().int(),
    time_slot_id: z.number().int(),
    status: z.enum(BOOKING_STATUSES),
  })
  .openapi("Booking");

export type BookingView = z.infer<typeof BookingSchema>;

/**
 * The one projection of a bookings row to its API shape, as a drizzle selection: for `select`,
 * `returning`, and `jsonObject` where SQLite builds it.
 */
export const bookingColumns = {
  id: bookings.id,
  user_id: bookings.userId,
  time_slot_id: bookings.timeSlotId,
  status: bookings.status,
} satisfies Record<keyof BookingView, unknown>;

const RescheduledTo = z.number().int().openapi({ description: "The booking that replaced this one when it was moved to another slot" });

/** A booking moved to another slot: CANCELLED, naming its replacement (the data of a booking.rescheduled webhook). */
export const RescheduledBookingSchema = BookingSchema.extend({ rescheduled_to: RescheduledTo }).openapi("RescheduledBooking");

export const rescheduledBookingColumns = { ...bookingColumns, rescheduled_to: bookings.rescheduledTo };

/**
 * A new BOOKED row of `bookings` as an INSERT ... SELECT selects it, every column in the table's
 * order (drizzle checks that): the one place a new column of bookings is given its first value.
 */
export function newBookingRow(userId: SQL.Aliased<number> | AnySQLiteColumn, timeSlotId: AnySQLiteColumn, now: string) {
  return {
    id: sql<number>`NULL`.as("id"),
    userId,
    timeSlotId,
    status: sql<"BOOKED">`'BOOKED'`.as("status"),
    createdAt: sql<string>`${now}`.as("created_at"),
    cancelledAt: sql<null>`NULL`.as("cancelled_at"),
    version: sql<number>`0`.as("version"),
    modifiedAt: sql<null>`NULL`.as("modified_at"),
    rescheduledTo: sql<null>`NULL`.as("rescheduled_to"),
  };
}

/** An entry of GET /bookings: the booking with its slot's category and times. */
export const CalendarBookingSchema = BookingSchema.extend({
  rescheduled_to: RescheduledTo.nullable(),
  category_id: z.number().int(),
  start_time: InstantOutput,
  end_time: InstantOutput,
}).openapi("CalendarBooking");

export const calendarBookingColumns = {
  ...rescheduledBookingColumns,
  category_id: timeSlots.categoryId,
  start_time: timeSlots.startTime,
  end_time: timeSlots.endTime,
} satisfies Record<keyof z.infer<typeof CalendarBookingSchema>, unknown>;

const TimeSlotId = z.number().int().positive().openapi({ example: 1 });

export const NewBookingSchema = z.object({ time_slot_id: TimeSlotId }).openapi("NewBooking");

export const RescheduleSchema = z.object({ time_slot_id: TimeSlotId.openapi({ description: "The slot to move the booking to", example: 2 }) }).openapi("Reschedule");

export const IdempotencyHeader = z.object({
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
