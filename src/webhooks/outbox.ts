import { and, eq, isNull, sql, type SQL } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Database } from "../db/client";
import { insertedRow } from "../db/insert-select";
import { jsonObject } from "../db/json";
import { bookings, timeSlots, webhookEvents, webhooks, type WebhookEventType } from "../db/schema";
import { nowUtcIso } from "../db/time";
import { bookingColumns, rescheduledBookingColumns } from "../views/booking";
import { slotRowJson } from "../views/slot";

// The transactional outbox. A change writes its events with statements in its own D1 batch (one
// transaction), so an event exists exactly when its change committed. Each statement is an
// INSERT ... SELECT that builds the event's data in SQL from the rows it announces, and writes
// nothing unless an enabled webhook subscribes to the type: without webhooks a change costs one
// statement more in its batch, and no round trip. After the commit, the batch's results go through
// `dispatcher` (dispatch.ts), which hands the events they name to the queue.

/** Writes events of one type; its result is a row `{ webhookEventId }` per event written. */
export type EventStatement = ReturnType<typeof eventsOf>;

/** An enabled webhook subscribes to `type`. */
const subscribed = (type: WebhookEventType) =>
  sql`EXISTS (SELECT 1 FROM ${webhooks}, json_each(${webhooks.events}) WHERE ${webhooks.disabledAt} IS NULL AND json_each.value = ${type})`;

/** One `type` event for each row of `from` that `where` selects, its data built from the row by `data`. */
function eventsOf(db: Database, type: WebhookEventType, from: SQLiteTable, where: SQL | undefined, data: SQL) {
  const event = insertedRow(webhookEvents, { type, data, createdAt: nowUtcIso() });
  return db
    .insert(webhookEvents)
    .select(db.select(event).from(from).where(and(where, subscribed(type))))
    .returning({ webhookEventId: webhookEvents.id });
}

/**
 * `type` events for the bookings `where` selects, with each booking as the API shows it (NULL
 * fields, such as a booking's `position`, left out); an event written before its change gives in
 * `changes` the fields as the change will set them.
 */
export function bookingEvents(
  db: Database,
  type: WebhookEventType,
  where: SQL | undefined,
  changes: Partial<Record<keyof typeof rescheduledBookingColumns, SQL>> = {},
): EventStatement {
  const columns = type === "booking.rescheduled" ? rescheduledBookingColumns : bookingColumns;
  return eventsOf(db, type, bookings, where, sql`json_patch('{}', ${jsonObject({ ...columns, ...changes })})`);
}

/** `type` events for the slots `where` selects (as they are at that point of the batch), with the row as data, shown through toSlotView when delivered. */
export function slotEvents(db: Database, type: WebhookEventType, where: SQL | undefined): EventStatement {
  return eventsOf(db, type, timeSlots, where, slotRowJson);
}

// The events of each change, for the batches that make them (bookings/commands.ts, bookings/moves.ts, slots/routes.ts).
// An event written after its change finds the rows the change wrote; one written before it (a
// status change, whose rows cannot be told apart afterwards) selects the rows the change will write.

/** After a booking's INSERT: the entry it wrote, which `written` selects. */
export const bookingCreated = (db: Database, written: SQL | undefined): EventStatement => bookingEvents(db, "booking.created", written);

/** An entry as the API shows it once ended: no waitlist position, no hold end. */
const ended = { status: sql`'CANCELLED'`, position: sql`NULL`, expires_at: sql`NULL` };

/** Before the UPDATE that cancels the bookings `cancellable` selects. */
export const bookingsCancelled = (db: Database, cancellable: SQL | undefined) => bookingEvents(db, "booking.cancelled", cancellable, ended);

/** Before the UPDATE that releases the expired holds `expired` selects. */
export const holdsExpired = (db: Database, expired: SQL | undefined) => bookingEvents(db, "booking.expired", expired, ended);

/** Before the UPDATE that ends the waitlist entries `closing` selects, of a slot that has started. */
export const waitlistClosed = (db: Database, closing: SQL | undefined) => bookingEvents(db, "waitlist.closed", closing, ended);

/** Before the UPDATE that promotes the waiters `promoted` selects. */
export const waitersPromoted = (db: Database, promoted: SQL | undefined) =>
  bookingEvents(db, "booking.promoted", promoted, { status: sql`'BOOKED'`, position: sql`NULL` });

/** Before the UPDATE that sets the attendance of the bookings `where` selects to `checkedInAt` (NULL: undone). */
export const attendanceChanged = (db: Database, checkedInAt: string | null, where: SQL | undefined) =>
  // checked_in_at is kept when null (json_set after json_patch, which drops nulls): it is the news.
  eventsOf(db, checkedInAt === null ? "booking.check_in_undone" : "booking.checked_in", bookings, where, sql`json_set(json_patch('{}', ${jsonObject(bookingColumns)}), '$.checked_in_at', ${checkedInAt})`);

/**
 * After the INSERT INTO time_slots of `count` slots (and whatever follows it in the batch): the
 * newest `count` slots are the new ones, as one INSERT takes consecutive ids inside its transaction.
 */
export const slotsCreated = (db: Database, count = 1) =>
  slotEvents(db, "slot.created", sql`${timeSlots.id} > (SELECT max(${timeSlots.id}) FROM ${timeSlots}) - ${count}`);

/** After the UPDATE of a live slot, which happened if the slot is still live. */
export const slotUpdated = (db: Database, slotId: number) => slotEvents(db, "slot.updated", and(eq(timeSlots.id, slotId), isNull(timeSlots.deletedAt)));

/** After the UPDATE that deletes the slot (its bookings are announced by `bookingsCancelled`). */
export const slotDeleted = (db: Database, slotId: number) => slotEvents(db, "slot.deleted", eq(timeSlots.id, slotId));
