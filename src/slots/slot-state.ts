import { eq } from "drizzle-orm";
import type { Database } from "../db/client";
import { timeSlots, type TimeSlotRow } from "../db/schema";
import { slotNotFound, type AppError } from "../errors/catalogue";
import { availableSpots } from "../views/slot";
import type { HoldAlarm } from "./hold-alarm";

// What a slot object remembers of its slot between requests: owns that memory, loaded from D1,
// which stays the system of record, and replaced only by what a committed batch read back.

export type SlotState = Pick<
  TimeSlotRow,
  "startTime" | "endTime" | "maxCapacity" | "bookedCount" | "heldCount" | "waitlistLength" | "bookingOpensAt" | "bookingClosesAt"
> & {
  deleted: boolean;
};

export function stateOf(row: TimeSlotRow): SlotState {
  const { startTime, endTime, maxCapacity, bookedCount, heldCount, waitlistLength, bookingOpensAt, bookingClosesAt, deletedAt } = row;
  return { startTime, endTime, maxCapacity, bookedCount, heldCount, waitlistLength, bookingOpensAt, bookingClosesAt, deleted: deletedAt !== null };
}

/**
 * Whether memory alone may refuse a new place as 409 slot_full, without the queue: the slot is
 * live and full, and as far as memory knows it has not started and booking for it is open. A
 * started slot, or one outside its booking window, takes the queue, where D1 says which rule
 * refuses it first (slot_started, booking_not_open, booking_closed). The instants are those of the
 * last load: a policy changed since (PATCH /admin/categories) may leave a full slot answered
 * slot_full here where D1 would say booking_closed; both refuse.
 */
export function knownFull(state: SlotState | undefined, now: string): boolean {
  if (!state || state.deleted || availableSpots(state) > 0) return false;
  const open = (state.bookingOpensAt === null || state.bookingOpensAt <= now) && (state.bookingClosesAt === null || state.bookingClosesAt > now);
  return state.startTime > now && open;
}

export class SlotMemory {
  /** undefined until loaded, and again after any failure that leaves D1's state in doubt. */
  #slot: SlotState | undefined;

  constructor(private readonly alarm: HoldAlarm) {}

  get current(): SlotState | undefined {
    return this.#slot;
  }

  /** The slot as it is in D1, loaded once; a missing or deleted slot is a 404. */
  async load(db: Database, slotId: number): Promise<SlotState> {
    if (!this.#slot) {
      const row = await db.select().from(timeSlots).where(eq(timeSlots.id, slotId)).get();
      // A missing slot is not remembered: it may be an id that is yet to be created.
      if (!row) throw slotNotFound();
      this.#slot = stateOf(row);
      // Every hold gets its alarm before it is written, and the alarm outlives restarts.
      await this.alarm.ensureSet(row.heldCount);
    }
    if (this.#slot.deleted) throw slotNotFound();
    return this.#slot;
  }

  /** The slot's row as a committed batch left it. */
  remember(row: TimeSlotRow): void {
    this.#slot = stateOf(row);
  }

  /** Drops what memory holds, so that the next task reloads it from D1. Returns `error`, to throw. */
  forget<E extends AppError | undefined>(error?: E): E {
    this.#slot = undefined;
    return error as E;
  }
}
