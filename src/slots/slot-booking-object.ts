import { DurableObject } from "cloudflare:workers";
import { and, eq, gt, isNull, lte, or, sql, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import { auditBookingCancelled, auditSlotDeleted, auditSlotUpdated } from "../audit/record";
import { completeMoveStatements, releasePlaceStatements, takePlaceStatements } from "../bookings/moves";
import { bookingColumns, newBookingRow, type BookingView } from "../bookings/schemas";
import { database, type Database } from "../db/client";
import { jsonObject } from "../db/json";
import { bookings, idempotencyKeys, timeSlots, users, type SlotChanges, type TimeSlotRow } from "../db/schema";
import { nowUtcIso, toUtcIso } from "../db/time";
import {
  alreadyBooked,
  alreadyCancelled,
  AppError,
  bookingNotFound,
  brokenConstraint,
  capacityBelowBookings,
  idempotencyKeyReused,
  rescheduleInProgress,
  slotFull,
  slotNotFound,
  slotStarted,
  storageUnavailable,
  unknownCategory,
} from "../http/errors";
import { attempt, failure, type Outcome } from "../http/outcome";
import { dispatcher } from "../webhooks/dispatch";
import { bookingCreated, bookingsCancelled, slotDeleted, slotUpdated } from "../webhooks/outbox";
import { startNotBeforeEnd, toSlotView, type SlotView } from "./schemas";

/** What the object remembers of its slot between requests. D1 stays the system of record. */
export type SlotState = Pick<TimeSlotRow, "startTime" | "endTime" | "maxCapacity" | "bookedCount"> & { deleted: boolean };

/** A client's Idempotency-Key and a description of the request it was sent with. */
export type Idempotency = { key: string; request: string };

export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

/** The object that owns one time slot (named by its id). Routes reach it through `slotObject`. */
export function slotObject(env: Env, slotId: number) {
  return env.SLOT_BOOKING.getByName(String(slotId));
}

/**
 * The row a successful change wrote (`where` selects it in `from`) and its outcome as SQL JSON:
 * the statements that record that outcome in the same batch as the change (none without a key).
 */
type Remember = (written: { from: SQLiteTable; where: SQL | undefined; outcomeJson: SQL }) => BatchItem<"sqlite">[];

/**
 * Serializes every change to one slot's bookings: book, cancel, capacity or time change, delete.
 *
 * The runtime runs one event at a time only until the object awaits I/O outside its own storage;
 * every D1 call here is such I/O, so each read-check-write runs inside `serialized`, a queue
 * that starts the next task only when the previous one has settled. D1 enforces the invariants
 * again (CHECK on booked_count, unique live booking per user, triggers keeping the count), so
 * a caller that bypassed this object still could not overbook.
 */
export class SlotBookingObject extends DurableObject<Env> {
  /** undefined until loaded, and again after any failure that leaves D1's state in doubt. */
  #slot: SlotState | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  /**
   * The D1 session of the running task, on the primary: a new one per task, so that each outcome
   * carries the bookmark of its own writes. Safe as a field because tasks run one at a time.
   */
  #session: D1DatabaseSession = this.env.DB.withSession("first-primary");
  #db: Database = database(this.#session);
  /** Passes on a committed batch's results and sends the webhook events it wrote (webhooks/outbox.ts). */
  #dispatch = dispatcher(this.env, this.ctx);

  async book(slotId: number, userId: number, idempotency?: Idempotency): Promise<Outcome<BookingView>> {
    // A full slot is answered from memory, without waiting in the queue: memory changes only
    // after D1 has committed, so "full" here is a committed fact. A retry with an
    // Idempotency-Key may be owed an earlier 201, so it takes the queue.
    const known = this.#slot;
    if (!idempotency && known && !known.deleted && known.bookedCount >= known.maxCapacity) return failure(slotFull());
    return this.#serialized(() =>
      this.#idempotent(userId, idempotency, async (remember) => {
        const slot = await this.#load(slotId);
        const now = nowUtcIso();
        if (slot.startTime <= now) throw slotStarted();
        if (slot.bookedCount >= slot.maxCapacity) throw slotFull();
        const bookable = and(eq(timeSlots.id, slotId), isNull(timeSlots.deletedAt), sql`${timeSlots.startTime} > ${now}`);
        const insert = this.#db
          .insert(bookings)
          .select(
            this.#db
              .select(newBookingRow(sql<number>`${userId}`.as("user_id"), timeSlots.id, now))
              .from(timeSlots)
              .where(bookable),
          )
          .returning(bookingColumns);
        const written = {
          from: bookings,
          where: sql`${bookings.id} = last_insert_rowid()`,
          outcomeJson: sql`json_object('ok', json('true'), 'value', ${jsonObject(bookingColumns)})`,
        };
        const created = bookingCreated(this.#db, slotId, userId, bookable);
        const [[booking]] = await this.#db.batch([insert, ...remember(written), created]).then(this.#dispatch).catch((error: unknown) => {
          const broken = brokenConstraint(error);
          if (broken?.kind === "unique" && broken.on.startsWith("bookings.")) throw alreadyBooked();
          if (broken?.kind === "check") throw this.#forget(slotFull());
          throw error;
        });
        // No row: the slot was deleted or moved behind this object's back.
        if (!booking) throw this.#forget(slotNotFound());
        slot.bookedCount += 1;
        return booking;
      }),
    );
  }

  /**
   * Cancels a live booking on this slot held by the caller, or by anyone if the caller is an admin
   * now; once the slot has started, only an admin may. An admin's cancellation of someone else's
   * booking, or after the start, is recorded in the audit log in the same batch.
   */
  async cancel(slotId: number, bookingId: number, callerId: number, idempotency?: Idempotency): Promise<Outcome<null>> {
    return this.#serialized(() =>
      this.#idempotent(callerId, idempotency, async (remember) => {
        const now = nowUtcIso();
        const callerIsAdmin = sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${callerId} AND ${users.role} = 'ADMIN')`;
        const ownedByCaller = sql`(${bookings.userId} = ${callerId} OR ${callerIsAdmin})`;
        const notStarted = sql`EXISTS (SELECT 1 FROM ${timeSlots} WHERE ${timeSlots.id} = ${slotId} AND ${timeSlots.startTime} > ${now})`;
        const thisBooking = and(eq(bookings.id, bookingId), eq(bookings.timeSlotId, slotId));
        const live = and(thisBooking, eq(bookings.status, "BOOKED"));
        const cancellable = and(live, ownedByCaller, or(notStarted, callerIsAdmin));
        const audit = auditBookingCancelled(this.#db, callerId, and(live, callerIsAdmin, sql`(${bookings.userId} <> ${callerId} OR NOT ${notStarted})`));
        const update = this.#db.update(bookings).set({ status: "CANCELLED", cancelledAt: now }).where(cancellable).returning({ id: bookings.id });
        const written = { from: bookings, where: eq(bookings.id, bookingId), outcomeJson: sql`json(${JSON.stringify({ ok: true, value: null })})` };
        const [, , cancelled] = await this.#db
          .batch([audit, bookingsCancelled(this.#db, cancellable), update, ...remember(written)])
          .then(this.#dispatch);
        if (cancelled.length === 0) {
          // Say why, without telling a stranger that someone else's booking exists.
          const visible = await this.#db.select({ status: bookings.status }).from(bookings).where(and(thisBooking, ownedByCaller)).get();
          if (!visible) throw bookingNotFound();
          throw visible.status === "BOOKED" ? slotStarted() : alreadyCancelled();
        }
        if (this.#slot) this.#slot.bookedCount -= 1;
        return null;
      }),
    );
  }

  /** Changes the slot for the admin `actorId`, recording it in the audit log in the same batch. */
  async update(slotId: number, changes: SlotChanges, actorId: number): Promise<Outcome<SlotView>> {
    return this.#serialized(() =>
      attempt(async () => {
        const slot = await this.#load(slotId);
        const { startTime = slot.startTime, endTime = slot.endTime, maxCapacity = slot.maxCapacity } = changes;
        if (startTime >= endTime) throw startNotBeforeEnd();
        if (maxCapacity < slot.bookedCount) throw capacityBelowBookings(maxCapacity, slot.bookedCount);
        const [, [row]] = await this.#db
          .batch([
            auditSlotUpdated(this.#db, actorId, slotId, changes),
            this.#db
              .update(timeSlots)
              .set(changes)
              .where(and(eq(timeSlots.id, slotId), isNull(timeSlots.deletedAt)))
              .returning(),
            slotUpdated(this.#db, slotId),
          ])
          .then(this.#dispatch)
          .catch((error: unknown) => {
            if (brokenConstraint(error)?.kind === "foreign_key") throw unknownCategory("category_id");
            throw error;
          });
        if (!row) throw this.#forget(slotNotFound());
        this.#slot = stateOf(row);
        return toSlotView(row);
      }),
    );
  }

  /** Deletes the slot for the admin `actorId`, cancels its live bookings and records it, in one D1 batch (one transaction). */
  async delete(slotId: number, actorId: number): Promise<Outcome<{ cancelledBookings: number }>> {
    return this.#serialized(() =>
      attempt(async () => {
        const slot = await this.#load(slotId);
        const now = nowUtcIso();
        const live = and(eq(bookings.timeSlotId, slotId), eq(bookings.status, "BOOKED"));
        const [, , cancelled] = await this.#db.batch([
          auditSlotDeleted(this.#db, actorId, slotId),
          bookingsCancelled(this.#db, live),
          this.#db
            .update(bookings)
            .set({ status: "CANCELLED", cancelledAt: now })
            .where(live)
            .returning({ id: bookings.id }),
          this.#db.update(timeSlots).set({ deletedAt: now }).where(eq(timeSlots.id, slotId)),
          slotDeleted(this.#db, slotId),
        ]).then(this.#dispatch);
        slot.deleted = true;
        slot.bookedCount = 0;
        return { cancelledBookings: cancelled.length };
      }),
    );
  }

  /**
   * Rescheduling, step 1, in the target slot's object: a place here for the owner of
   * `fromBookingId`, recorded as a move in progress (bookings/moves.ts). The caller must own that
   * booking or be an admin; the route has checked that it is live and in another slot.
   */
  async takeForMove(slotId: number, fromBookingId: number, callerId: number): Promise<Outcome<BookingView>> {
    const known = this.#slot;
    if (known && !known.deleted && known.bookedCount >= known.maxCapacity) return failure(slotFull());
    return this.#serialized(() =>
      attempt(async () => {
        const slot = await this.#load(slotId);
        const now = nowUtcIso();
        if (slot.startTime <= now) throw slotStarted();
        if (slot.bookedCount >= slot.maxCapacity) throw slotFull();
        const [[booking], , [from]] = await this.#db.batch(takePlaceStatements(this.#db, slotId, fromBookingId, callerId, now)).catch((error: unknown) => {
          const broken = brokenConstraint(error);
          if (broken?.kind === "unique" && broken.on.startsWith("bookings.")) throw alreadyBooked();
          if (broken?.kind === "unique" && broken.on.startsWith("booking_moves.")) throw rescheduleInProgress();
          if (broken?.kind === "check") throw this.#forget(slotFull());
          throw error;
        });
        if (!booking) {
          if (from?.status !== "BOOKED") throw alreadyCancelled();
          // The slot was deleted or moved behind this object's back.
          throw this.#forget(slotNotFound());
        }
        slot.bookedCount += 1;
        return booking;
      }),
    );
  }

  /** Rescheduling, step 2, in the source slot's object: cancels `fromBookingId` as moved, if its move is still in progress. */
  async completeMove(slotId: number, fromBookingId: number): Promise<Outcome<null>> {
    return this.#serialized(() =>
      attempt(async () => {
        const [, , moved] = await this.#db.batch(completeMoveStatements(this.#db, slotId, fromBookingId, nowUtcIso())).then(this.#dispatch);
        if (moved.length === 0) throw alreadyCancelled();
        if (this.#slot) this.#slot.bookedCount -= 1;
        return null;
      }),
    );
  }

  /**
   * Rescheduling, undone, in the target slot's object: frees the place step 1 took, if the move of
   * `fromBookingId` is still in progress. `undone` is false if the move had completed or been undone before.
   */
  async releaseMove(slotId: number, fromBookingId: number): Promise<Outcome<{ undone: boolean }>> {
    return this.#serialized(() =>
      attempt(async () => {
        const [released, deleted] = await this.#db.batch(releasePlaceStatements(this.#db, slotId, fromBookingId, nowUtcIso()));
        if (released.length > 0 && this.#slot) this.#slot.bookedCount -= 1;
        return { undone: deleted.length > 0 };
      }),
    );
  }

  /** What this object currently believes about its slot (undefined if not loaded). For tests and diagnostics. */
  async inspect(): Promise<SlotState | undefined> {
    return this.#slot;
  }

  /** The slot as it is in D1, loaded once; a missing or deleted slot is a 404. */
  async #load(slotId: number): Promise<SlotState> {
    if (!this.#slot) {
      const row = await this.#db.select().from(timeSlots).where(eq(timeSlots.id, slotId)).get();
      // A missing slot is not remembered: it may be an id that is yet to be created.
      if (!row) throw slotNotFound();
      this.#slot = stateOf(row);
    }
    if (this.#slot.deleted) throw slotNotFound();
    return this.#slot;
  }

  /** Drops what memory holds, so that the next task reloads it from D1. Returns the error to throw. */
  #forget(error: AppError): AppError {
    this.#slot = undefined;
    return error;
  }

  /**
   * Runs `act` at most once per (user, Idempotency-Key) within the window, and answers repeats
   * with the first outcome. A success is recorded by `act` in the same batch as its change; a
   * refusal (4xx) is recorded after it; a storage failure is not, so a retry runs again.
   */
  async #idempotent<T>(userId: number, idempotency: Idempotency | undefined, act: (remember: Remember) => Promise<T>): Promise<Outcome<T>> {
    if (!idempotency) return attempt(() => act(() => []));
    const earlier = await this.#recall<T>(userId, idempotency);
    if (earlier) return earlier;
    const { key, request } = idempotency;
    const now = nowUtcIso();
    const remember: Remember = ({ from, where, outcomeJson }) => [
      this.#db.insert(idempotencyKeys).select(
        this.#db
          .select({
            userId: sql<number>`${userId}`.as("user_id"),
            key: sql<string>`${key}`.as("key"),
            request: sql<string>`${request}`.as("request"),
            outcome: outcomeJson.as("outcome"),
            createdAt: sql<string>`${now}`.as("created_at"),
          })
          .from(from)
          // `changes() = 1`: record the success only if the statement before it changed its row.
          .where(and(where, sql`changes() = 1`)),
      ),
    ];
    try {
      const outcome = await attempt(() => act(remember));
      if (!outcome.ok) await this.#db.insert(idempotencyKeys).values({ userId, key, request, outcome, createdAt: now });
      return outcome;
    } catch (error) {
      // The same key was recorded meanwhile by a request for another slot: answer as for a repeat.
      const broken = brokenConstraint(error);
      if (broken?.kind === "unique" && broken.on.startsWith("idempotency_keys.")) {
        const winner = await this.#recall<T>(userId, idempotency);
        if (winner) return winner;
      }
      throw error;
    }
  }

  /** The recorded outcome of an earlier request with this key; a 422 if that request was another one. */
  async #recall<T>(userId: number, { key, request }: Idempotency): Promise<Outcome<T> | undefined> {
    const expired = toUtcIso(new Date(Date.now() - IDEMPOTENCY_WINDOW_MS));
    const ofUser = eq(idempotencyKeys.userId, userId);
    const [, [earlier]] = await this.#db.batch([
      this.#db.delete(idempotencyKeys).where(and(ofUser, lte(idempotencyKeys.createdAt, expired))),
      this.#db.select().from(idempotencyKeys).where(and(ofUser, eq(idempotencyKeys.key, key), gt(idempotencyKeys.createdAt, expired))),
    ]);
    if (!earlier) return undefined;
    if (earlier.request !== request) return failure(idempotencyKeyReused());
    return { ...(earlier.outcome as Outcome<T>), replayed: true };
  }

  /**
   * Runs `task` after every earlier task has settled, in a D1 session of its own, and hands back
   * the session's bookmark with the outcome. A failure of D1 itself becomes a 503.
   */
  #serialized<T>(task: () => Promise<Outcome<T>>): Promise<Outcome<T>> {
    const inSession = async (): Promise<Outcome<T>> => {
      this.#session = this.env.DB.withSession("first-primary");
      this.#db = database(this.#session);
      const outcome = await task();
      return { ...outcome, bookmark: this.#session.getBookmark() ?? undefined };
    };
    const run = this.#queue.then(inSession).catch((error: unknown): Outcome<T> => {
      // D1 failed or timed out: the write may or may not have happened. Memory is left as it
      // was before the task and then dropped, so the next task starts from what D1 holds.
      this.#slot = undefined;
      return failure(storageUnavailable(error));
    });
    this.#queue = run;
    return run;
  }
}

function stateOf(row: TimeSlotRow): SlotState {
  const { startTime, endTime, maxCapacity, bookedCount, deletedAt } = row;
  return { startTime, endTime, maxCapacity, bookedCount, deleted: deletedAt !== null };
}
