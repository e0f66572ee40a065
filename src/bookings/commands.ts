import { and, eq, gt, isNotNull, isNull, lte, min, ne, or, sql, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import { auditAttendance, auditBookingCancelled, auditSlotDeleted, auditSlotUpdateApplied, auditSlotUpdated } from "../audit/record";
import type { Database } from "../db/client";
import { bookings, timeSlots, users, WAITLIST_LIMIT, type BookingStatus, type SlotChanges } from "../db/schema";
import { attendanceColumns, bookingColumns, bookingJson } from "../views/booking";
import { attendanceChanged, bookingCreated, bookingsCancelled, holdsExpired, slotDeleted, slotUpdated, waitersPromoted, waitlistClosed } from "../webhooks/outbox";
import { bookingWindowOpen, userLimitFacts, withinUserLimit } from "./policy-rules";
import { newBookingRow, type NewEntry } from "./schemas";

// The D1 statements of the slot object's commands (slots/slot-booking-object.ts), one batch (one
// transaction) per change, beside those of a move (moves.ts). Each batch writes its change, the
// webhook events (webhooks/outbox.ts) and audit entries (audit/record.ts) of that change, and
// ends with the slot's row as the change left it, for the object's memory; an event that carries
// the slot's state comes after every statement that changes it. Every statement that
// frees a place (a cancellation, a capacity increase, a released hold, a move away) is followed by
// `promoteWaiters`, so the freed place goes to the earliest waiter in the same transaction: no
// newcomer can take it in between. The rules are checked by the object and by D1's constraints;
// those of a category's booking policy, by the statements here (policy-rules.ts).

/**
 * The row a successful change wrote (`where` selects it in `from`) and its outcome as SQL JSON:
 * the statement that records that outcome in the same batch as the change, after it with no
 * other write in between (its `changes()` must still be the change's). Made by slots/idempotency.ts.
 */
export type Remember = (written: { from: SQLiteTable; where: SQL | undefined; outcomeJson: SQL }) => BatchItem<"sqlite">;

/** The slot's row as the statements before it in the batch left it: what memory holds after a change. */
export function slotRow(db: Database, slotId: number) {
  return db.select().from(timeSlots).where(eq(timeSlots.id, slotId));
}

/** Now, as D1 reads it inside a batch: for rules of statements whose callers pass no time. */
const d1Now = sql`strftime('%Y-%m-%dT%H:%M:%SZ', 'now')`;

/**
 * Moves the earliest waiters into the places free at this point of the batch (none if the slot
 * is deleted, has started or its booking has closed: its waiters wait for nothing, and
 * `closeWaitlistStatements` ends their entries), announcing them (booking.promoted): it goes right after every statement that
 * frees a place. Waiters are promoted in id order, which is the order they joined in, since the
 * slot's object inserts them one at a time. The event selects the same rows just before the UPDATE does.
 */
export function promoteWaiters(db: Database, slotId: number) {
  const free = sql`(SELECT ${timeSlots.maxCapacity} - ${timeSlots.bookedCount} - ${timeSlots.heldCount} FROM ${timeSlots}
    WHERE ${timeSlots.id} = ${slotId} AND ${timeSlots.deletedAt} IS NULL AND ${timeSlots.startTime} > ${d1Now}
      AND (${timeSlots.bookingClosesAt} IS NULL OR ${timeSlots.bookingClosesAt} > ${d1Now}))`;
  const earliest = sql`${bookings.id} IN (SELECT ${bookings.id} FROM ${bookings} WHERE ${bookings.timeSlotId} = ${slotId}
    AND ${bookings.status} = 'WAITLISTED' ORDER BY ${bookings.id} LIMIT coalesce(${free}, 0))`;
  return [waitersPromoted(db, earliest), db.update(bookings).set({ status: "BOOKED" }).where(earliest)] as const;
}

/** What a new entry asks for: on a full slot a waitlist place (`waitlist`), and a hold ending at `holdUntil` rather than a place. */
export type EntryAsked = { waitlist: boolean; holdUntil?: string };

/**
 * `bookings.version` of a row inside the statements that insert it, until the last of them sets it
 * to 0: what tells those statements the row they wrote from a live entry the user had before.
 */
const WRITING = -1;

/**
 * A new entry of `userId` in `slotId`, decided by D1 at this point of the batch, as if the request
 * ran alone: a place (or a hold) while one is free, else a waitlist place if asked and the waitlist
 * has room; nothing if the slot is deleted or has started, booking for it is not open (its
 * category's policy), the user has a live entry on it or is at the category's limit. Writing
 * nothing is not an error, so that many requests can share one batch. Answers the new entry (none
 * if nothing was written), then the slot as it is after it and whether the user has a live entry
 * on it and is at the limit (`entryFacts`), which tell why.
 */
export function bookStatements(db: Database, slotId: number, userId: number, asked: EntryAsked, now: string, remember: Remember) {
  const free = sql`(${timeSlots.maxCapacity} - ${timeSlots.bookedCount} - ${timeSlots.heldCount})`;
  const room = asked.waitlist ? sql`(${free} > 0 OR ${timeSlots.waitlistLength} < ${WAITLIST_LIMIT})` : sql`${free} > 0`;
  const placeStatus = asked.holdUntil === undefined ? sql`'BOOKED'` : sql`'HELD'`;
  const entry: NewEntry = {
    status: sql<BookingStatus>`CASE WHEN ${free} > 0 THEN ${placeStatus} ELSE 'WAITLISTED' END`,
    expiresAt: sql<string | null>`CASE WHEN ${free} > 0 THEN ${asked.holdUntil ?? null} END`,
    version: sql<number>`${WRITING}`,
  };
  const liveEntry = sql`EXISTS (SELECT 1 FROM ${bookings} WHERE ${bookings.timeSlotId} = ${slotId} AND ${bookings.userId} = ${userId} AND ${bookings.status} <> 'CANCELLED')`;
  const bookable = and(
    eq(timeSlots.id, slotId),
    isNull(timeSlots.deletedAt),
    sql`${timeSlots.startTime} > ${now}`,
    bookingWindowOpen(now),
    room,
    sql`NOT ${liveEntry}`,
    withinUserLimit(userId, now),
  );
  const written = and(eq(bookings.timeSlotId, slotId), eq(bookings.userId, userId), eq(bookings.version, WRITING));
  const entryFacts = db
    .select({ liveEntry: sql<number>`${liveEntry}`, ...userLimitFacts(userId, now) })
    .from(timeSlots)
    .where(eq(timeSlots.id, slotId));
  return [
    db.insert(bookings).select(db.select(newBookingRow(sql<number>`${userId}`.as("user_id"), timeSlots.id, now, entry)).from(timeSlots).where(bookable)),
    db.select(bookingColumns).from(bookings).where(written),
    slotRow(db, slotId),
    entryFacts,
    remember({ from: bookings, where: written, outcomeJson: sql`json_object('ok', json('true'), 'value', json(${bookingJson}))` }),
    bookingCreated(db, written),
    db.update(bookings).set({ version: 0 }).where(written),
  ] as const;
}

/** The caller owns the booking, or is an admin now (read from D1). */
const callerIsAdmin = (callerId: number) => sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${callerId} AND ${users.role} = 'ADMIN')`;
const ownedByCaller = (callerId: number) => sql`(${bookings.userId} = ${callerId} OR ${callerIsAdmin(callerId)})`;
const thisBooking = (slotId: number, bookingId: number) => and(eq(bookings.id, bookingId), eq(bookings.timeSlotId, slotId));

/**
 * Whether the owner may still give up the entry (bookings in the statement) at `now`: a booked
 * place until the slot's `cancellable_until` (its category's policy; NULL: no deadline), a hold or
 * a waitlist place until the start.
 */
const ownerMayCancel = (slotId: number, now: string) =>
  sql`EXISTS (SELECT 1 FROM ${timeSlots} WHERE ${timeSlots.id} = ${slotId} AND CASE WHEN ${bookings.status} = 'BOOKED'
    THEN ${timeSlots.cancellableUntil} IS NULL OR ${timeSlots.cancellableUntil} > ${now} ELSE ${timeSlots.startTime} > ${now} END)`;

/**
 * Cancels `bookingId`, a live entry on `slotId`, if the caller owns it and may still cancel it
 * (`ownerMayCancel`), or is an admin; an admin's cancellation of someone else's entry, or after the
 * owner's deadline, is audited. The third result is the cancelled booking (none if nothing
 * changed); the last two, the slot and the booking's status afterwards if the caller may see it
 * (owns it, or is an admin), which tell why nothing changed without telling a stranger that the
 * booking exists.
 */
export function cancelStatements(db: Database, slotId: number, bookingId: number, callerId: number, now: string, remember: Remember) {
  const isAdmin = callerIsAdmin(callerId);
  const ownerMay = ownerMayCancel(slotId, now);
  const live = and(thisBooking(slotId, bookingId), ne(bookings.status, "CANCELLED"));
  const cancellable = and(live, ownedByCaller(callerId), or(ownerMay, isAdmin));
  const audit = auditBookingCancelled(db, callerId, and(live, isAdmin, sql`(${bookings.userId} <> ${callerId} OR NOT ${ownerMay})`));
  const update = db.update(bookings).set({ status: "CANCELLED", cancelledAt: now }).where(cancellable).returning({ id: bookings.id });
  const written = { from: bookings, where: eq(bookings.id, bookingId), outcomeJson: sql`json(${JSON.stringify({ ok: true, value: null })})` };
  const visible = db.select({ status: bookings.status }).from(bookings).where(and(thisBooking(slotId, bookingId), ownedByCaller(callerId)));
  return [audit, bookingsCancelled(db, cancellable), update, remember(written), ...promoteWaiters(db, slotId), slotRow(db, slotId), visible] as const;
}

/**
 * Turns the caller's unexpired hold `bookingId` into a booking. Answers the booking as it is
 * afterwards, with when it ended (`ended`) and when its hold was to end (`end`), then the slot.
 */
export function confirmStatements(db: Database, slotId: number, bookingId: number, callerId: number, now: string) {
  const mine = and(eq(bookings.id, bookingId), eq(bookings.timeSlotId, slotId), eq(bookings.userId, callerId));
  return [
    // expires_at is cleared: it marks, on a CANCELLED row, a hold that ended unconfirmed.
    db
      .update(bookings)
      .set({ status: "BOOKED", expiresAt: null })
      .where(and(mine, eq(bookings.status, "HELD"), gt(bookings.expiresAt, now))),
    db.select({ ...bookingColumns, ended: bookings.cancelledAt, end: bookings.expiresAt }).from(bookings).where(mine),
    slotRow(db, slotId),
  ] as const;
}

/** Applies `changes` to the live slot for the admin `actorId`, audited; more places promote waiters. The second result is the slot's id if it changed, the seventh the slot. */
export function updateSlotStatements(db: Database, slotId: number, changes: SlotChanges, actorId: number) {
  return [
    auditSlotUpdated(db, actorId, slotId, changes),
    db
      .update(timeSlots)
      .set(changes)
      .where(and(eq(timeSlots.id, slotId), isNull(timeSlots.deletedAt)))
      .returning({ id: timeSlots.id }),
    auditSlotUpdateApplied(db, slotId),
    ...promoteWaiters(db, slotId),
    // After the promotions: the event carries the slot as the batch commits it.
    slotUpdated(db, slotId),
    slotRow(db, slotId),
  ] as const;
}

/** Deletes the slot for the admin `actorId`, cancelling its live entries, audited. The third result is the cancelled entries. */
export function deleteSlotStatements(db: Database, slotId: number, actorId: number, now: string) {
  const live = and(eq(bookings.timeSlotId, slotId), ne(bookings.status, "CANCELLED"));
  return [
    auditSlotDeleted(db, actorId, slotId),
    bookingsCancelled(db, live),
    db.update(bookings).set({ status: "CANCELLED", cancelledAt: now }).where(live).returning({ id: bookings.id }),
    db.update(timeSlots).set({ deletedAt: now }).where(eq(timeSlots.id, slotId)),
    slotDeleted(db, slotId),
    slotRow(db, slotId),
  ] as const;
}

/**
 * Cancels the holds whose end has passed and promotes waiters into their places. Answers the
 * released holds (second), when the next live hold ends (`next`, fifth), and the slot.
 */
export function releaseExpiredHoldsStatements(db: Database, slotId: number, now: string) {
  const held = and(eq(bookings.timeSlotId, slotId), eq(bookings.status, "HELD"));
  const expired = and(held, lte(bookings.expiresAt, now));
  return [
    holdsExpired(db, expired),
    db.update(bookings).set({ status: "CANCELLED", cancelledAt: now }).where(expired).returning({ id: bookings.id }),
    ...promoteWaiters(db, slotId),
    db.select({ next: min(bookings.expiresAt) }).from(bookings).where(held),
    slotRow(db, slotId),
  ] as const;
}

/** Booking for the slot (time_slots in the statement) has closed by `now`: it has started, or its category's policy closed it before. */
export const bookingEnded = (now: string) => sql`(${timeSlots.startTime} <= ${now} OR ${timeSlots.bookingClosesAt} <= ${now})`;

/**
 * Ends the waitlist of `slotId` once booking for it has closed (as of `now`, `bookingEnded`): its
 * waiters' entries are CANCELLED and announced (waitlist.closed), since no place will be given to
 * them. Answers the closed entries (second), then the slot.
 */
export function closeWaitlistStatements(db: Database, slotId: number, now: string) {
  const closed = sql`EXISTS (SELECT 1 FROM ${timeSlots} WHERE ${timeSlots.id} = ${slotId} AND ${bookingEnded(now)})`;
  const waiting = and(eq(bookings.timeSlotId, slotId), eq(bookings.status, "WAITLISTED"), closed);
  return [
    waitlistClosed(db, waiting),
    db.update(bookings).set({ status: "CANCELLED", cancelledAt: now }).where(waiting).returning({ id: bookings.id }),
    slotRow(db, slotId),
  ] as const;
}

/**
 * Sets the attendance of the BOOKED booking `bookingId` to `checkedInAt` (NULL: undone) for the
 * admin `actorId`, audited and announced, if it changes; then the booking with its attendance.
 */
export function attendanceStatements(db: Database, slotId: number, bookingId: number, actorId: number, checkedInAt: string | null) {
  const thisBooking = and(eq(bookings.id, bookingId), eq(bookings.timeSlotId, slotId));
  const changing = and(thisBooking, eq(bookings.status, "BOOKED"), checkedInAt === null ? isNotNull(bookings.checkedInAt) : isNull(bookings.checkedInAt));
  return [
    auditAttendance(db, actorId, checkedInAt, changing),
    attendanceChanged(db, checkedInAt, changing),
    db.update(bookings).set({ checkedInAt }).where(changing),
    db.select(attendanceColumns).from(bookings).where(thisBooking),
  ] as const;
}
