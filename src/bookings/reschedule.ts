import { and, eq } from "drizzle-orm";
import type { Context } from "hono";
import type { CallerEnv } from "../auth/caller";
import { database } from "../db/client";
import { bookings, timeSlots } from "../db/schema";
import { nowUtcIso } from "../db/time";
import { alreadyCancelled, bookingNotFound, cancellationClosed, notBooked, sameSlot, slotStarted } from "../errors/catalogue";
import { unwrap } from "../http/outcome";
import { slotObject } from "../objects/stubs";
import type { BookingView } from "../views/booking";
import { ownedBy } from "./moves";

// Moving a booking to another slot, through the objects of both slots (statements in moves.ts).
// A booking may move when its owner could cancel it now: BOOKED (a hold is confirmed first, a
// waitlist place cannot move), its slot not started and its cancellation deadline (its category's
// policy) not passed, for an admin too; the target must be bookable by its own policy.
// 1. the target's object books the place and records the move; 2. the source's object cancels
// the source booking as moved. If step 2 fails, the target's object gives the place back. At
// every point D1's constraints hold: a user may hold live bookings on two slots at once, and
// briefly does. A move that a crash left between the steps is undone by the cron
// (maintenance/scheduled.ts).

/** A move in progress for longer than this was interrupted: the cron undoes it (maintenance/scheduled.ts). */
export const INTERRUPTED_MOVE_MS = 60_000;

/** Moves `bookingId` to `targetSlotId` for the caller (its owner or an admin); answers the new booking. */
export async function reschedule(c: Context<CallerEnv>, bookingId: number, targetSlotId: number): Promise<BookingView> {
  const callerId = c.get("user").id;
  const db = database(c.env.DB);
  const source = await db
    .select({ slotId: bookings.timeSlotId, status: bookings.status, start: timeSlots.startTime, cancellableUntil: timeSlots.cancellableUntil })
    .from(bookings)
    .innerJoin(timeSlots, eq(timeSlots.id, bookings.timeSlotId))
    .where(and(eq(bookings.id, bookingId), ownedBy(bookings.userId, callerId)))
    .get();
  if (!source) throw bookingNotFound();
  if (source.slotId === targetSlotId) throw sameSlot();
  // A booking may move only if its owner could cancel it now (step 1 checks it again in D1).
  if (source.status === "CANCELLED") throw alreadyCancelled();
  if (source.status !== "BOOKED") throw notBooked("moved");
  const now = nowUtcIso();
  if (source.start <= now) throw slotStarted();
  if (source.cancellableUntil !== null && source.cancellableUntil <= now) throw cancellationClosed(source.cancellableUntil);

  const target = slotObject(c.env, targetSlotId);
  const booking = unwrap(c, await target.takeForMove(targetSlotId, bookingId, callerId));
  const moved = await slotObject(c.env, source.slotId).completeMove(source.slotId, bookingId);
  if (!moved.ok) {
    // Give the place back, unless the move did commit and only its answer was lost.
    const { undone } = unwrap(c, await target.releaseMove(targetSlotId, bookingId));
    const completed = await db.select({ to: bookings.rescheduledTo }).from(bookings).where(eq(bookings.id, bookingId)).get();
    if (undone || completed?.to !== booking.id) unwrap(c, moved);
  }
  return booking;
}
