import { z } from "@hono/zod-openapi";
import { sql, type SQL } from "drizzle-orm";
import type { AnySQLiteColumn } from "drizzle-orm/sqlite-core";
import { insertedRow } from "../db/insert-select";
import { bookings, type BookingStatus } from "../db/schema";

// What the booking routes accept (their request shapes, the Idempotency-Key), and how a new row of
// bookings starts. The booking as the API shows it is views/booking.ts.

/**
 * How a new row of `bookings` starts: its status and, for a hold, its end (SQL, when the statement
 * decides them from the slot's places at that point of its batch), and its `version`.
 */
export type NewEntry = { status: SQL<BookingStatus> | "BOOKED"; expiresAt?: SQL<string | null>; version?: SQL<number> };

/**
 * A new row of `bookings` as an INSERT ... SELECT selects it: the one place a new column of
 * bookings is given its first value.
 */
export function newBookingRow(
  userId: SQL.Aliased<number> | AnySQLiteColumn,
  timeSlotId: AnySQLiteColumn,
  now: string,
  { status, expiresAt = sql`NULL`, version = sql`0` }: NewEntry = { status: "BOOKED" },
) {
  return insertedRow(bookings, { userId, timeSlotId, status, createdAt: now, expiresAt, version });
}

const TimeSlotId = z.number().int().positive().openapi({ example: 1 });

/** How long a hold lasts, in seconds: `default` unless the booking asks for another length in [min, max]. */
export const HOLD_SECONDS = { min: 30, max: 1800, default: 300 };

export const NewBookingSchema = z
  .object({
    time_slot_id: TimeSlotId,
    waitlist: z.boolean().optional().openapi({ description: "On a full slot, join its waitlist (202 WAITLISTED) instead of 409 slot_full" }),
    hold: z.boolean().optional().openapi({
      description: "Hold the place (201 HELD with expires_at) until POST /bookings/{booking_id}/confirm, for `hold_seconds` (default 300)",
    }),
    hold_seconds: z
      .number()
      .int()
      .min(HOLD_SECONDS.min)
      .max(HOLD_SECONDS.max)
      .optional()
      .openapi({ description: `With \`hold\`: how long the hold lasts, ${HOLD_SECONDS.min} to ${HOLD_SECONDS.max} seconds (default ${HOLD_SECONDS.default})` }),
  })
  .refine((booking) => booking.hold_seconds === undefined || booking.hold === true, { message: "hold_seconds needs hold: true", path: ["hold_seconds"] })
  .openapi("NewBooking");

export type BookingOptions = Pick<z.infer<typeof NewBookingSchema>, "waitlist" | "hold" | "hold_seconds">;

export const RescheduleSchema = z.object({ time_slot_id: TimeSlotId.openapi({ description: "The slot to move the booking to", example: 2 }) }).openapi("Reschedule");

/** A client's Idempotency-Key and a description of the request it was sent with. */
export type Idempotency = { key: string; request: string };

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
