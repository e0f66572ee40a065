import { z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import { alias, type SQLiteColumn } from "drizzle-orm/sqlite-core";
import { jsonObject } from "../db/json";
import { BOOKING_STATUSES, bookings, timeSlots } from "../db/schema";
import { InstantOutput } from "../values/instant";

// The projections of a bookings row that the API shows (BookingSchema, bookingColumns and its JSON
// built by SQLite, bookingJson), for routes, the slot object's statements, webhooks and audit.

/** A booking as the API shows it: `position` only for a waiter, `expires_at` only for a hold. */
export const BookingSchema = z
  .object({
    id: z.number().int(),
    user_id: z.number().int(),
    time_slot_id: z.number().int(),
    status: z.enum(BOOKING_STATUSES),
    position: z.number().int().min(1).optional().openapi({ description: "WAITLISTED only: the place in line, 1 = next to be promoted" }),
    expires_at: InstantOutput.optional().openapi({ description: "HELD only: when the hold is released unless confirmed" }),
  })
  .openapi("Booking");

export type BookingView = z.infer<typeof BookingSchema>;

const ahead = alias(bookings, "ahead");
/** A column of the outer row, named with its table: drizzle leaves it bare in a one-table query, where the subquery's own columns would capture it. */
const outer = (column: SQLiteColumn) => sql`${bookings}.${sql.identifier(column.name)}`;

/**
 * The one projection of a bookings row to its API shape, as a drizzle selection: for `select`,
 * and `bookingJson` where SQLite builds it. `position` and `expires_at` are NULL where they do
 * not apply; `toBookingView` and `bookingJson` leave them out.
 */
export const bookingColumns = {
  id: bookings.id,
  user_id: bookings.userId,
  time_slot_id: bookings.timeSlotId,
  status: bookings.status,
  position: sql<number | null>`CASE WHEN ${bookings.status} = 'WAITLISTED' THEN (SELECT COUNT(*) FROM ${bookings} ${ahead}
    WHERE ${ahead.timeSlotId} = ${outer(bookings.timeSlotId)} AND ${ahead.status} = 'WAITLISTED' AND ${ahead.id} <= ${outer(bookings.id)}) END`,
  expires_at: sql<string | null>`CASE WHEN ${bookings.status} = 'HELD' THEN ${bookings.expiresAt} END`,
} satisfies Record<keyof BookingView, unknown>;

type Nullable<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: T[P] | null };
type OptionalFields = "position" | "expires_at";

/** A row selected with `bookingColumns` (and possibly more), without the fields that do not apply. */
export function toBookingView<T extends Nullable<BookingView, OptionalFields>>({ position, expires_at, ...rest }: T) {
  return { ...rest, ...(position === null ? {} : { position }), ...(expires_at === null ? {} : { expires_at }) };
}

/** `bookingColumns` as a JSON object built by SQLite; json_patch drops the members that are NULL. */
export const bookingJson = sql`json_patch('{}', ${jsonObject(bookingColumns)})`;

const RescheduledTo = z.number().int().openapi({ description: "The booking that replaced this one when it was moved to another slot" });

/** A booking moved to another slot: CANCELLED, naming its replacement (the data of a booking.rescheduled webhook). */
export const RescheduledBookingSchema = BookingSchema.extend({ rescheduled_to: RescheduledTo }).openapi("RescheduledBooking");

export const rescheduledBookingColumns = { ...bookingColumns, rescheduled_to: bookings.rescheduledTo };

/** An entry of GET /bookings: the booking with its slot's category and times. */
export const CalendarBookingSchema = BookingSchema.extend({
  rescheduled_to: RescheduledTo.nullable(),
  category_id: z.number().int(),
  start_time: InstantOutput,
  end_time: InstantOutput,
  cancellable_until: InstantOutput.nullable().openapi({
    description: "The slot's `cancellable_until`: the owner may cancel or move a booked place until then (null: no deadline), an admin at any time",
  }),
}).openapi("CalendarBooking");

export const calendarBookingColumns = {
  ...rescheduledBookingColumns,
  category_id: timeSlots.categoryId,
  start_time: timeSlots.startTime,
  end_time: timeSlots.endTime,
  cancellable_until: timeSlots.cancellableUntil,
} satisfies Record<keyof z.infer<typeof CalendarBookingSchema>, unknown>;

/** A booking with its attendance: what POST/DELETE /admin/bookings/{booking_id}/check-in answer, and the booking.checked_in event's data. */
export const AttendanceSchema = BookingSchema.extend({
  checked_in_at: InstantOutput.nullable().openapi({ description: "When an admin checked the booking in; null if not (or undone)" }),
}).openapi("Attendance");

export const attendanceColumns = { ...bookingColumns, checked_in_at: bookings.checkedInAt };

export type AttendanceView = z.infer<typeof AttendanceSchema>;
