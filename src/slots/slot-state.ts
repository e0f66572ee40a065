import { eq } from "drizzle-orm";
import type { Database } from "../db/client";
import { timeSlots, type TimeSlotRow } from "../db/schema";
import { slotNotFound, type AppError } from "../errors/catalogue";
import type { HoldAlarm } from "./hold-alarm";

// What a slot object remembers of its slot between requests: owns that memory, loaded from D1,
// which stays the system of record, and replaced only by what a committed batch read back.

export type SlotState = Pick<TimeSlotRow, "startTime" | "endTime" | "maxCapacity" | "bookedCount" | "heldCount" | "waitlistLength"> & {
  deleted: boolean;
};

export function stateOf(row: TimeSlotRow): SlotState {
  const { startTime, endTime, maxCapacity, bookedCount, heldCount, waitlistLength, deletedAt } = row;
  return { startTime, endTime, maxCapacity, bookedCount, heldCount, waitlistLength, deleted: deletedAt !== null };
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
