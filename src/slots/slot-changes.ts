import { attendanceStatements, bookStatements, cancelStatements, confirmStatements } from "../bookings/commands";
import { holdRefusal } from "../bookings/hold-rules";
import type { BookingOptions, Idempotency } from "../bookings/schemas";
import { WAITLIST_LIMIT } from "../db/schema";
import { limitRefusal, windowRefusal } from "../bookings/policy-rules";
import { alreadyBooked, alreadyCancelled, bookingNotFound, cancellationClosed, holdExpired, notBooked, notHeld } from "../errors/catalogue";
import { slotFull, slotNotFound, slotStarted, waitlistFull } from "../errors/catalogue";
import { type AttendanceView, type BookingView, toBookingView } from "../views/booking";
import { availableSpots } from "../views/slot";
import { type Change, step } from "./group-commit";
import type { HoldAlarm } from "./hold-alarm";

// The changes of a slot's bookings that may share a D1 batch (group-commit.ts): a new entry, a
// cancellation, a hold's confirmation, attendance. Each owns its rules' answers: its statements
// (bookings/commands.ts) act only where the rules hold, and its answer says which rule refused it.

/**
 * A place for `userId`, or a hold (`hold`, whose end gets the alarm before it is written), or on a
 * full slot a waitlist place (`waitlist`). Refused: the slot has started, booking for it is not
 * open (its category's policy), it is full (or its waitlist is), the user has a live entry on it
 * or is at the category's limit of entries; a hold also beyond the limits on holds (hold-rules.ts).
 */
export function newEntry(userId: number, options: BookingOptions, alarm: HoldAlarm, idempotency?: Idempotency): Change<BookingView> {
  return {
    actor: userId,
    idempotency,
    plan: async ({ db, slotId, now, remember }) => {
      const holdUntil = options.hold ? await alarm.holdUntil(options.hold_seconds) : undefined;
      const waitlist = options.waitlist === true;
      return step(bookStatements(db, slotId, userId, { waitlist, holdUntil }, now, remember), ([, [entry], [slot], [facts]]) => {
        if (entry) return toBookingView(entry);
        if (!slot || slot.deletedAt !== null) throw slotNotFound();
        if (slot.startTime <= now) throw slotStarted();
        const outsideWindow = windowRefusal(slot, now);
        if (outsideWindow) throw outsideWindow;
        if (availableSpots(slot) === 0 && !waitlist) throw slotFull();
        if (availableSpots(slot) === 0 && slot.waitlistLength >= WAITLIST_LIMIT) throw waitlistFull(WAITLIST_LIMIT);
        if (facts.liveEntry) throw alreadyBooked();
        throw limitRefusal(facts) ?? alreadyBooked();
      }, holdUntil === undefined ? undefined : (error) => holdRefusal(db, error, userId, slotId));
    },
  };
}

/**
 * Cancels a live entry (booked, held or waitlisted) held by the caller, or by anyone if the caller
 * is an admin now; after the slot's `cancellable_until` (a booked place) or its start (a hold or a
 * waitlist place), only an admin may. A freed place goes to the earliest waiter in the same batch.
 */
export function cancellation(bookingId: number, callerId: number, idempotency?: Idempotency): Change<null> {
  return {
    actor: callerId,
    idempotency,
    plan: ({ db, slotId, now, remember }) =>
      step(cancelStatements(db, slotId, bookingId, callerId, now, remember), ([, , cancelled, , , , [slot], [visible]]) => {
        if (cancelled.length > 0) return null;
        // Say why, without telling a stranger that someone else's booking exists.
        if (!visible) throw bookingNotFound();
        if (visible.status === "CANCELLED") throw alreadyCancelled();
        throw visible.status === "BOOKED" && slot?.cancellableUntil ? cancellationClosed(slot.cancellableUntil) : slotStarted();
      }),
  };
}

/** Turns the caller's unexpired hold into a booking; confirming a booking again answers it unchanged. */
export function confirmation(bookingId: number, callerId: number): Change<BookingView> {
  return {
    actor: callerId,
    plan: ({ db, slotId, now }) =>
      step(confirmStatements(db, slotId, bookingId, callerId, now), ([, [booking]]) => {
        if (!booking) throw bookingNotFound();
        const { ended, end, ...view } = booking;
        if (view.status === "BOOKED") return toBookingView(view);
        if (view.status === "WAITLISTED") throw notHeld();
        // Still HELD here means past its end, with the alarm about to release it. A CANCELLED hold
        // expired if it ended at or after its end, else its holder cancelled it.
        if (end !== null && (view.status === "HELD" || (ended !== null && ended >= end))) throw holdExpired();
        throw alreadyCancelled();
      }),
  };
}

/**
 * Records for the admin `actorId` that the owner of a BOOKED booking came (`present`), or undoes
 * it; doing it twice changes nothing and answers the same. Audited and announced in its batch.
 */
export function attendance(bookingId: number, actorId: number, present: boolean): Change<AttendanceView> {
  return {
    actor: actorId,
    plan: ({ db, slotId, now }) =>
      step(attendanceStatements(db, slotId, bookingId, actorId, present ? now : null), ([, , , [booking]]) => {
        if (!booking) throw bookingNotFound();
        if (booking.status !== "BOOKED") throw notBooked();
        return toBookingView(booking);
      }),
  };
}
