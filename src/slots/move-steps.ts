import { promoteWaiters, slotRow } from "../bookings/commands";
import { completeMoveStatements, releasePlaceStatements, takePlaceStatements } from "../bookings/moves";
import { brokenConstraint } from "../db/failures";
import { nowUtcIso } from "../db/time";
import { limitRefusal, windowRefusal } from "../bookings/policy-rules";
import { alreadyBooked, alreadyCancelled, cancellationClosed, notBooked, rescheduleInProgress, slotFull, slotNotFound, slotStarted } from "../errors/catalogue";
import { failure, type Outcome } from "../objects/outcome";
import { toBookingView, type BookingView } from "../views/booking";
import { availableSpots } from "../views/slot";
import type { dispatcher } from "../webhooks/dispatch";
import type { LiveAnnouncements } from "./live";
import type { SerialQueue } from "./serial-queue";
import { knownFull, type SlotMemory } from "./slot-state";

/**
 * Rescheduling's steps as a slot's object runs them, each a task of its queue: owns their rule
 * checks and answers. The statements are bookings/moves.ts's; bookings/reschedule.ts runs the
 * steps across the two slots' objects; the object (slot-booking-object.ts) hands this its queue,
 * its memory of the slot, its watchers and its dispatcher.
 */
export class MoveSteps {
  constructor(
    private readonly queue: SerialQueue,
    private readonly memory: SlotMemory,
    private readonly live: LiveAnnouncements,
    private readonly dispatch: ReturnType<typeof dispatcher>,
  ) {}

  /**
   * Rescheduling, step 1, in the target slot's object: a place here for the owner of
   * `fromBookingId`, recorded as a move in progress (bookings/moves.ts). The caller must own that
   * booking or be an admin; the route has checked that it may move and is in another slot, and
   * D1 checks it again in the batch, with the target's booking policy (bookings/policy-rules.ts).
   */
  async takePlace(slotId: number, fromBookingId: number, callerId: number): Promise<Outcome<BookingView>> {
    if (knownFull(this.memory.current, nowUtcIso())) return failure(slotFull());
    return this.queue.attempt(async () => {
      const slot = await this.memory.load(this.queue.db, slotId);
      const now = nowUtcIso();
      if (slot.startTime <= now) throw slotStarted();
      if (availableSpots(slot) === 0) throw slotFull();
      const [[booking], , [from], [limit], [row]] = await this.queue.db
        .batch([...takePlaceStatements(this.queue.db, slotId, fromBookingId, callerId, now), slotRow(this.queue.db, slotId)])
        .catch((error: unknown) => {
          const broken = brokenConstraint(error);
          if (broken?.kind === "unique" && broken.on.startsWith("bookings.")) throw alreadyBooked();
          if (broken?.kind === "unique" && broken.on.startsWith("booking_moves.")) throw rescheduleInProgress();
          if (broken?.kind === "check") throw this.memory.forget(slotFull());
          throw error;
        });
      this.memory.remember(row);
      if (!booking) {
        if (from?.status === "CANCELLED") throw alreadyCancelled();
        if (from?.status !== "BOOKED") throw notBooked("moved");
        if (from.started) throw slotStarted();
        if (from.cancellableUntil !== null && from.cancellableUntil <= now) throw cancellationClosed(from.cancellableUntil);
        const refusal = row && (windowRefusal(row, now) ?? (limit && limitRefusal(limit)));
        if (refusal) throw refusal;
        // The slot was deleted or moved behind this object's back.
        throw this.memory.forget(slotNotFound());
      }
      this.live.announce(slotId);
      return toBookingView(booking);
    });
  }

  /**
   * Rescheduling, step 2, in the source slot's object: cancels `fromBookingId` as moved, if its
   * move is still in progress; the place it frees goes to the first waiter.
   */
  async complete(slotId: number, fromBookingId: number): Promise<Outcome<null>> {
    return this.queue.attempt(async () => {
      const db = this.queue.db;
      const statements = [...completeMoveStatements(db, slotId, fromBookingId, nowUtcIso()), ...promoteWaiters(db, slotId), slotRow(db, slotId)] as const;
      const [, , moved, , , , [row]] = await db.batch(statements).then(this.dispatch);
      this.memory.remember(row);
      if (moved.length === 0) throw alreadyCancelled();
      this.live.announce(slotId);
      return null;
    });
  }

  /**
   * Rescheduling, undone, in the target slot's object: frees the place step 1 took, if the move of
   * `fromBookingId` is still in progress, for the first waiter. `undone` is false if the move had
   * completed or been undone before.
   */
  async release(slotId: number, fromBookingId: number): Promise<Outcome<{ undone: boolean }>> {
    return this.queue.attempt(async () => {
      const db = this.queue.db;
      const statements = [...releasePlaceStatements(db, slotId, fromBookingId, nowUtcIso()), ...promoteWaiters(db, slotId), slotRow(db, slotId)] as const;
      const [released, deleted, , , [row]] = await db.batch(statements).then(this.dispatch);
      this.memory.remember(row);
      if (released.length > 0) this.live.announce(slotId);
      return { undone: deleted.length > 0 };
    });
  }
}
