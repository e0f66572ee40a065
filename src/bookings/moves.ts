import { and, eq, exists, isNull, ne, sql } from "drizzle-orm";
import { alias, type AnySQLiteColumn } from "drizzle-orm/sqlite-core";
import type { Database } from "../db/client";
import { bookingMoves, bookings, timeSlots, users } from "../db/schema";
import { bookingColumns } from "../views/booking";
import { bookingEvents } from "../webhooks/outbox";
import { bookingWindowOpen, userLimitFacts, withinUserLimit } from "./policy-rules";
import { newBookingRow } from "./schemas";

// The D1 statements of a move (POST /bookings/{booking_id}/reschedule), run by the slot objects of
// the two slots (slots/slot-booking-object.ts) and orchestrated by reschedule.ts. A move in progress is
// a booking_moves row: step 1 books the target place and writes the row in one batch; step 2
// cancels the source and deletes the row in another; undoing step 1 cancels the target booking
// and deletes the row instead. Each of the last two acts only while the row exists, and D1 runs one
// batch at a time, so exactly one of them takes effect, whichever comes first.

/** The booking whose user_id is `owner` is the caller's, or the caller is an admin now (read from D1, as for a cancellation). */
export function ownedBy(owner: AnySQLiteColumn, callerId: number) {
  return sql`(${owner} = ${callerId} OR EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${callerId} AND ${users.role} = 'ADMIN'))`;
}

const source = alias(bookings, "source");
const sourceSlot = alias(timeSlots, "source_slot");

/** The source booking (BOOKED) could still be cancelled by its owner at `now`: before its slot's `cancellable_until`, if any. */
const cancellableAt = (now: string) => sql`(${sourceSlot.cancellableUntil} IS NULL OR ${sourceSlot.cancellableUntil} > ${now})`;

/** The target booking of the move of `fromBookingId` in progress, as a scalar subquery (NULL if none). */
const movedTo = (fromBookingId: number) =>
  sql`(SELECT ${bookingMoves.toBookingId} FROM ${bookingMoves} WHERE ${bookingMoves.fromBookingId} = ${fromBookingId})`;

/**
 * Step 1, in the target slot's object: a place in `slotId` for the owner of `fromBookingId`, if
 * that booking may move (the rule of its owner's cancellation: BOOKED, a hold confirmed first, in
 * a slot that has not started, before its `cancellable_until`; for an admin too), is in another
 * slot and the caller's (or the caller is an admin), and the target slot could be booked now
 * (not started, booking open, its category's limit not reached without the source booking); and
 * the move row, naming the new booking. Answers the new booking (none if nothing was written),
 * then the source booking's status, whether its slot has started (`started`, 0 or 1) and until
 * when it could be cancelled, then whether the owner is at the target's limit.
 */
export function takePlaceStatements(db: Database, slotId: number, fromBookingId: number, callerId: number, now: string) {
  const place = db
    .select(newBookingRow(source.userId, timeSlots.id, now))
    .from(source)
    .innerJoin(sourceSlot, and(eq(sourceSlot.id, source.timeSlotId), sql`${sourceSlot.startTime} > ${now}`, cancellableAt(now)))
    .innerJoin(timeSlots, and(eq(timeSlots.id, slotId), isNull(timeSlots.deletedAt), sql`${timeSlots.startTime} > ${now}`, bookingWindowOpen(now)))
    .where(
      and(
        eq(source.id, fromBookingId),
        eq(source.status, "BOOKED"),
        ne(source.timeSlotId, slotId),
        ownedBy(source.userId, callerId),
        withinUserLimit(source.userId, now, fromBookingId),
      ),
    );
  const move = db
    .select({ fromBookingId: sql<number>`${fromBookingId}`.as("from_booking_id"), toBookingId: bookings.id, createdAt: sql<string>`${now}`.as("created_at") })
    .from(bookings)
    // `changes() = 1`: the INSERT before wrote the booking, so last_insert_rowid() is its id.
    .where(and(sql`${bookings.id} = last_insert_rowid()`, sql`changes() = 1`));
  return [
    db.insert(bookings).select(place).returning(bookingColumns),
    db.insert(bookingMoves).select(move),
    db
      .select({ status: bookings.status, started: sql<number>`${timeSlots.startTime} <= ${now}`, cancellableUntil: timeSlots.cancellableUntil })
      .from(bookings)
      .innerJoin(timeSlots, eq(timeSlots.id, bookings.timeSlotId))
      .where(eq(bookings.id, fromBookingId)),
    db
      .select(userLimitFacts(source.userId, now, fromBookingId))
      .from(timeSlots)
      .innerJoin(source, eq(source.id, fromBookingId))
      .where(eq(timeSlots.id, slotId)),
  ] as const;
}

/**
 * Step 2, in the source slot's object: cancels `fromBookingId`, naming the booking that replaces
 * it, and deletes the move row, if the move is still in progress and the booking still live. The
 * events go first: booking.rescheduled for the source as the update will leave it, and
 * booking.created for the new booking, announced only now that the move is certain. The third
 * result is the cancelled booking (none if nothing changed).
 */
export function completeMoveStatements(db: Database, slotId: number, fromBookingId: number, now: string) {
  const to = movedTo(fromBookingId);
  const moving = and(eq(bookings.id, fromBookingId), eq(bookings.timeSlotId, slotId), eq(bookings.status, "BOOKED"), sql`${to} IS NOT NULL`);
  const sourceMoving = exists(
    db
      .select({ id: source.id })
      .from(source)
      .where(and(eq(source.id, fromBookingId), eq(source.timeSlotId, slotId), eq(source.status, "BOOKED"))),
  );
  return [
    bookingEvents(db, "booking.rescheduled", moving, { status: sql`'CANCELLED'`, rescheduled_to: to }),
    bookingEvents(db, "booking.created", and(sql`${bookings.id} = ${to}`, sourceMoving)),
    db.update(bookings).set({ status: "CANCELLED", cancelledAt: now, rescheduledTo: to }).where(moving).returning({ id: bookings.id }),
    db
      .delete(bookingMoves)
      .where(
        and(
          eq(bookingMoves.fromBookingId, fromBookingId),
          sql`${bookingMoves.toBookingId} = (SELECT ${bookings.rescheduledTo} FROM ${bookings} WHERE ${bookings.id} = ${fromBookingId})`,
        ),
      ),
  ] as const;
}

/**
 * Undoes step 1, in the target slot's object: cancels the booking the move of `fromBookingId`
 * took in `slotId` and deletes the move row, if the move is still in progress. Answers the
 * cancelled booking (none if it was already cancelled), then the deleted row (none if the move
 * had completed or was undone before).
 */
export function releasePlaceStatements(db: Database, slotId: number, fromBookingId: number, now: string) {
  return [
    db
      .update(bookings)
      .set({ status: "CANCELLED", cancelledAt: now })
      .where(and(sql`${bookings.id} = ${movedTo(fromBookingId)}`, eq(bookings.timeSlotId, slotId), eq(bookings.status, "BOOKED")))
      .returning({ id: bookings.id }),
    db.delete(bookingMoves).where(eq(bookingMoves.fromBookingId, fromBookingId)).returning({ toBookingId: bookingMoves.toBookingId }),
  ] as const;
}
