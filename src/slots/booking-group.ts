import { bookStatements } from "../bookings/commands";
import type { NewEntry } from "../bookings/schemas";
import type { Database } from "../db/client";
import { brokenConstraint } from "../db/failures";
import { WAITLIST_LIMIT } from "../db/schema";
import { nowUtcIso } from "../db/time";
import { alreadyBooked, AppError, slotFull, slotNotFound, slotStarted, waitlistFull } from "../errors/catalogue";
import { failure, type Outcome } from "../objects/outcome";
import { type BookingView, toBookingView } from "../views/booking";
import { availableSpots } from "../views/slot";
import { recorder } from "./idempotency";
import type { SlotMemory } from "./slot-state";

// Group commit of bookings: owns how the plain bookings and waitlist joins that gathered in the
// slot object's queue (serial-queue.ts, `gather`) are answered by one D1 batch.

/** A booking or waitlist join without hold or Idempotency-Key: what a group carries. */
export type BookingRequest = { userId: number; waitlist: boolean };

/** Requests per group: 5 statements each, well within D1's limits on one batch. */
export const GROUP_LIMIT = 50;

/**
 * Answers `requests` (in arrival order) exactly as if each had run alone in that order: places
 * go to the first while they last, then a waitlist place to those who asked, else 409 slot_full;
 * a user's second entry is 409 already_booked. Every entry is written by one D1 batch; if it
 * fails, the error reaches the queue and no request is acknowledged. If D1 refuses it for a
 * constraint memory did not predict (a user booked before memory knew), memory is reloaded and
 * each request runs `alone`, so that no request is refused for a neighbour's fault. A committed
 * group is `announce`d to the watchers once.
 */
export async function bookTogether(
  db: Database,
  slotId: number,
  requests: BookingRequest[],
  memory: SlotMemory,
  dispatch: <T extends readonly unknown[]>(results: T) => T,
  alone: (request: BookingRequest) => Promise<Outcome<BookingView>>,
  announce: () => void,
): Promise<Outcome<BookingView>[]> {
  const everyone = (error: AppError) => requests.map(() => failure(error));
  let slot;
  try {
    slot = await memory.load(db, slotId);
  } catch (error) {
    if (error instanceof AppError) return everyone(error);
    throw error;
  }
  const now = nowUtcIso();
  if (slot.startTime <= now) return everyone(slotStarted());
  let free = availableSpots(slot);
  let waiting = slot.waitlistLength;
  const entered = new Set<number>();
  const plans = requests.map(({ userId, waitlist }): NewEntry | AppError => {
    const room = free > 0;
    if (!room && !waitlist) return slotFull();
    if (!room && waiting >= WAITLIST_LIMIT) return waitlistFull(WAITLIST_LIMIT);
    if (entered.has(userId)) return alreadyBooked();
    entered.add(userId);
    if (room) free--;
    else waiting++;
    return { status: room ? "BOOKED" : "WAITLISTED" };
  });
  const writes = plans.flatMap((plan, i) => (plan instanceof AppError ? [] : [bookStatements(db, slotId, requests[i].userId, plan, now, recorder(db, requests[i].userId, undefined, now))]));
  if (writes.length === 0) return plans.map((plan) => failure(plan as AppError));
  const statements = writes.flat() as unknown as Parameters<Database["batch"]>[0];
  let results: unknown[][];
  try {
    results = (await db.batch(statements).then(dispatch)) as unknown as unknown[][];
  } catch (error) {
    if (!brokenConstraint(error)) throw error;
    memory.forget();
    const outcomes: Outcome<BookingView>[] = [];
    for (const request of requests) outcomes.push(await alone(request));
    return outcomes;
  }
  const perWrite = writes[0].length;
  const bookingsWritten = writes.map((_, w) => results[w * perWrite + 1][0] as Parameters<typeof toBookingView>[0] | undefined);
  memory.remember(results[(writes.length - 1) * perWrite + 2][0] as Parameters<SlotMemory["remember"]>[0]);
  // No row: the slot was deleted or moved behind this object's back.
  if (bookingsWritten.some((booking) => !booking)) return everyone(memory.forget(slotNotFound()));
  announce();
  let w = 0;
  return plans.map((plan) => (plan instanceof AppError ? failure(plan) : { ok: true, value: toBookingView(bookingsWritten[w++]!) }));
}
