import { DurableObject } from "cloudflare:workers";
import { and, eq, gt, isNotNull, isNull, lte, min, ne, or, sql, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import { auditAttendance, auditBookingCancelled, auditSlotDeleted, auditSlotUpdated } from "../audit/record";
import { completeMoveStatements, releasePlaceStatements, takePlaceStatements } from "../bookings/moves";
import { attendanceColumns, bookingColumns, bookingJson, HOLD_SECONDS, newBookingRow, toBookingView, type AttendanceView, type BookingOptions, type BookingView, type NewEntry } from "../bookings/schemas";
import { database, type Database } from "../db/client";
import { bookings, idempotencyKeys, timeSlots, users, WAITLIST_LIMIT, type SlotChanges, type TimeSlotRow } from "../db/schema";
import { nowUtcIso, toUtcIso } from "../db/time";
import {
  alreadyBooked,
  alreadyCancelled,
  AppError,
  bookingNotFound,
  brokenConstraint,
  capacityBelowBookings,
  holdExpired,
  idempotencyKeyReused,
  notBooked,
  notHeld,
  rescheduleInProgress,
  slotFull,
  slotNotFound,
  slotStarted,
  storageUnavailable,
  unknownCategory,
  waitlistFull,
} from "../http/errors";
import { afterCommittedChange } from "../http/micro-cache";
import { attempt, failure, type Outcome } from "../http/outcome";
import { dispatcher } from "../webhooks/dispatch";
import { attendanceChanged, bookingCreated, bookingsCancelled, holdsExpired, slotDeleted, slotUpdated, waitersPromoted } from "../webhooks/outbox";
import { availableSpots, startNotBeforeEnd, toSlotAvailability, toSlotView, type SlotView } from "./schemas";

/** What the object remembers of its slot between requests. D1 stays the system of record. */
export type SlotState = Pick<TimeSlotRow, "startTime" | "endTime" | "maxCapacity" | "bookedCount" | "heldCount" | "waitlistLength"> & {
  deleted: boolean;
};

/** A client's Idempotency-Key and a description of the request it was sent with. */
export type Idempotency = { key: string; request: string };

export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;
/** When D1 fails while the alarm releases holds, it tries again this much later. */
const RELEASE_RETRY_MS = 10_000;

/** The object that owns one time slot (named by its id). Routes reach it through `slotObject`. */
export function slotObject(env: Env, slotId: number) {
  return env.SLOT_BOOKING.getByName(String(slotId));
}

/** GET /slots/{slot_id}/live as the slot's object takes it: the upgrade request, naming the slot. */
export function watchRequest(slotId: number, upgrade: Request): Request {
  return new Request(`https://slot-object.invalid/${slotId}/live`, upgrade);
}

/** Where the object keeps its slot's id (its own storage): an object woken by its alarm is told no name. */
const SLOT_ID_KEY = "slot_id";

/**
 * The row a successful change wrote (`where` selects it in `from`) and its outcome as SQL JSON:
 * the statement that records that outcome in the same batch as the change, after it with no
 * other write in between (its `changes()` must still be the change's).
 */
type Remember = (written: { from: SQLiteTable; where: SQL | undefined; outcomeJson: SQL }) => BatchItem<"sqlite">;

/**
 * Serializes every change to one slot's bookings: book, hold, join the waitlist, confirm, cancel,
 * capacity or time change, delete, the release of expired holds.
 *
 * The runtime runs one event at a time only until the object awaits I/O outside its own storage;
 * every D1 call here is such I/O, so each read-check-write runs inside `serialized`, a queue
 * that starts the next task only when the previous one has settled. D1 enforces the invariants
 * again (CHECKs on the counts, one live entry per user, triggers keeping the counts), so a
 * caller that bypassed this object still could not overbook.
 *
 * Every statement that frees a place (a cancellation, a capacity increase, a released hold, a
 * move away) is followed in its batch by `#promoteWaiters`, so the freed place goes to the earliest
 * waiter in the same transaction: no newcomer can take it in between. Each batch also writes the
 * webhook events of its change (webhooks/outbox.ts), sent by `#dispatch` once it has committed.
 *
 * Watchers of the slot hold WebSockets accepted with the hibernation API: an idle object with
 * watchers is evicted from memory and woken for the next message. Holds are released by the
 * object's alarm, which storage keeps across restarts.
 */
export class SlotBookingObject extends DurableObject<Env> {
  /** undefined until loaded, and again after any failure that leaves D1's state in doubt. */
  #slot: SlotState | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  /** An announcement is scheduled: changes committed until it is sent go in it. */
  #announcing = false;
  /**
   * The D1 session of the running task, on the primary: a new one per task, so that each outcome
   * carries the bookmark of its own writes. Safe as a field because tasks run one at a time.
   */
  #session: D1DatabaseSession = this.env.DB.withSession("first-primary");
  #db: Database = database(this.#session);
  /** Passes on a committed batch's results and sends the webhook events it wrote (webhooks/outbox.ts). */
  #dispatch = dispatcher(this.env, this.ctx);

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // A client's keep-alive is answered without waking a hibernated object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /**
   * Books a place, holds one (`hold`), or on a full slot joins the waitlist (`waitlist`). The
   * answer's status says which: BOOKED, HELD or WAITLISTED.
   */
  async book(slotId: number, userId: number, options: BookingOptions, idempotency?: Idempotency): Promise<Outcome<BookingView>> {
    this.#own(slotId);
    // A full slot is answered from memory, without waiting in the queue: memory changes only
    // after D1 has committed, so "full" here is a committed fact. A retry with an
    // Idempotency-Key may be owed an earlier 201, so it takes the queue.
    const known = this.#slot;
    if (!idempotency && !options.waitlist && known && !known.deleted && availableSpots(known) === 0) return failure(slotFull());
    return this.#serialized(() =>
      this.#idempotent(userId, idempotency, async (remember) => {
        const slot = await this.#load(slotId);
        const now = nowUtcIso();
        if (slot.startTime <= now) throw slotStarted();
        const room = availableSpots(slot) > 0;
        if (!room && !options.waitlist) throw slotFull();
        if (!room && slot.waitlistLength >= WAITLIST_LIMIT) throw waitlistFull(WAITLIST_LIMIT);
        const entry: NewEntry = !room
          ? { status: "WAITLISTED" }
          : options.hold
            ? { status: "HELD", expiresAt: await this.#holdUntil(options.hold_seconds) }
            : { status: "BOOKED" };
        const bookable = and(eq(timeSlots.id, slotId), isNull(timeSlots.deletedAt), sql`${timeSlots.startTime} > ${now}`);
        const insert = this.#db
          .insert(bookings)
          .select(this.#db.select(newBookingRow(sql<number>`${userId}`.as("user_id"), timeSlots.id, now, entry)).from(timeSlots).where(bookable));
        // `changes() = 1`: the INSERT wrote a row, so last_insert_rowid() is that row.
        const written = { from: bookings, where: sql`${bookings.id} = last_insert_rowid() AND changes() = 1` };
        const [, [booking], [row]] = await this.#db
          .batch([
            insert,
            this.#db.select(bookingColumns).from(bookings).where(written.where),
            this.#slotRow(slotId),
            remember({ ...written, outcomeJson: sql`json_object('ok', json('true'), 'value', json(${bookingJson}))` }),
            // Last: an event is a write, after which last_insert_rowid() and changes() are its own.
            bookingCreated(this.#db, slotId, userId, bookable),
          ])
          .then(this.#dispatch)
          .catch((error: unknown) => {
            const broken = brokenConstraint(error);
            if (broken?.kind === "unique" && broken.on.startsWith("bookings.")) throw alreadyBooked();
            if (broken?.kind === "check") throw this.#forget(entry.status === "WAITLISTED" ? waitlistFull(WAITLIST_LIMIT) : slotFull());
            throw error;
          });
        this.#slot = stateOf(row);
        // No row: the slot was deleted or moved behind this object's back.
        if (!booking) throw this.#forget(slotNotFound());
        this.#announce(slotId);
        return toBookingView(booking);
      }),
    );
  }

  /**
   * Cancels a live entry (booked, held or waitlisted) on this slot held by the caller, or by
   * anyone if the caller is an admin now; once the slot has started, only an admin may. A freed
   * place goes to the earliest waiter. An admin's cancellation of someone else's entry, or after
   * the start, is recorded in the audit log in the same batch.
   */
  async cancel(slotId: number, bookingId: number, callerId: number, idempotency?: Idempotency): Promise<Outcome<null>> {
    this.#own(slotId);
    return this.#serialized(() =>
      this.#idempotent(callerId, idempotency, async (remember) => {
        const now = nowUtcIso();
        const callerIsAdmin = sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${callerId} AND ${users.role} = 'ADMIN')`;
        const ownedByCaller = sql`(${bookings.userId} = ${callerId} OR ${callerIsAdmin})`;
        const notStarted = sql`EXISTS (SELECT 1 FROM ${timeSlots} WHERE ${timeSlots.id} = ${slotId} AND ${timeSlots.startTime} > ${now})`;
        const thisBooking = and(eq(bookings.id, bookingId), eq(bookings.timeSlotId, slotId));
        const live = and(thisBooking, ne(bookings.status, "CANCELLED"));
        const cancellable = and(live, ownedByCaller, or(notStarted, callerIsAdmin));
        const audit = auditBookingCancelled(this.#db, callerId, and(live, callerIsAdmin, sql`(${bookings.userId} <> ${callerId} OR NOT ${notStarted})`));
        const update = this.#db.update(bookings).set({ status: "CANCELLED", cancelledAt: now }).where(cancellable).returning({ id: bookings.id });
        const written = { from: bookings, where: eq(bookings.id, bookingId), outcomeJson: sql`json(${JSON.stringify({ ok: true, value: null })})` };
        const [, , cancelled, , , , [row]] = await this.#db
          .batch([audit, bookingsCancelled(this.#db, cancellable), update, remember(written), ...this.#promoteWaiters(slotId), this.#slotRow(slotId)])
          .then(this.#dispatch);
        if (cancelled.length === 0) {
          // Say why, without telling a stranger that someone else's booking exists.
          const visible = await this.#db.select({ status: bookings.status }).from(bookings).where(and(thisBooking, ownedByCaller)).get();
          if (!visible) throw bookingNotFound();
          throw visible.status === "CANCELLED" ? alreadyCancelled() : slotStarted();
        }
        this.#slot = stateOf(row);
        this.#announce(slotId);
        return null;
      }),
    );
  }

  /** Turns the caller's unexpired hold on this slot into a booking. Confirming a booking again answers it unchanged. */
  async confirm(slotId: number, bookingId: number, callerId: number): Promise<Outcome<BookingView>> {
    this.#own(slotId);
    return this.#serialized(() =>
      attempt(async () => {
        const now = nowUtcIso();
        const mine = and(eq(bookings.id, bookingId), eq(bookings.timeSlotId, slotId), eq(bookings.userId, callerId));
        const [, [booking], [row]] = await this.#db.batch([
          // expires_at is cleared: it marks, on a CANCELLED row, a hold that ended unconfirmed.
          this.#db
            .update(bookings)
            .set({ status: "BOOKED", expiresAt: null })
            .where(and(mine, eq(bookings.status, "HELD"), gt(bookings.expiresAt, now))),
          this.#db.select({ ...bookingColumns, ended: bookings.cancelledAt, end: bookings.expiresAt }).from(bookings).where(mine),
          this.#slotRow(slotId),
        ]);
        this.#slot = stateOf(row);
        if (!booking) throw bookingNotFound();
        const { ended, end, ...view } = booking;
        if (view.status === "BOOKED") return toBookingView(view);
        if (view.status === "WAITLISTED") throw notHeld();
        // Still HELD here means past its end, with the alarm about to release it. A CANCELLED hold
        // expired if it ended at or after its end, else its holder cancelled it.
        if (end !== null && (view.status === "HELD" || (ended !== null && ended >= end))) throw holdExpired();
        throw alreadyCancelled();
      }),
    );
  }

  /**
   * Records for the admin `actorId` that the owner of `bookingId` came (`present`), or undoes it:
   * only for a BOOKED booking; doing it twice changes nothing and answers the same. Audited, and
   * announced (booking.checked_in, booking.check_in_undone), in the change's batch.
   */
  async setAttendance(slotId: number, bookingId: number, actorId: number, present: boolean): Promise<Outcome<AttendanceView>> {
    this.#own(slotId);
    return this.#serialized(() =>
      attempt(async () => {
        const checkedInAt = present ? nowUtcIso() : null;
        const thisBooking = and(eq(bookings.id, bookingId), eq(bookings.timeSlotId, slotId));
        const changing = and(thisBooking, eq(bookings.status, "BOOKED"), present ? isNull(bookings.checkedInAt) : isNotNull(bookings.checkedInAt));
        const [, , , [booking]] = await this.#db
          .batch([
            auditAttendance(this.#db, actorId, checkedInAt, changing),
            attendanceChanged(this.#db, checkedInAt, changing),
            this.#db.update(bookings).set({ checkedInAt }).where(changing),
            this.#db.select(attendanceColumns).from(bookings).where(thisBooking),
          ])
          .then(this.#dispatch);
        if (!booking) throw bookingNotFound();
        if (booking.status !== "BOOKED") throw notBooked();
        return toBookingView(booking);
      }),
    );
  }

  /** Changes the slot for the admin `actorId`, recording it in the audit log in the same batch. More places promote waiters. */
  async update(slotId: number, changes: SlotChanges, actorId: number): Promise<Outcome<SlotView>> {
    this.#own(slotId);
    return this.#serialized(() =>
      attempt(async () => {
        const slot = await this.#load(slotId);
        const { startTime = slot.startTime, endTime = slot.endTime, maxCapacity = slot.maxCapacity } = changes;
        if (startTime >= endTime) throw startNotBeforeEnd();
        const taken = slot.bookedCount + slot.heldCount;
        if (maxCapacity < taken) throw capacityBelowBookings(maxCapacity, taken);
        const [, [updated], , , , [row]] = await this.#db
          .batch([
            auditSlotUpdated(this.#db, actorId, slotId, changes),
            this.#db
              .update(timeSlots)
              .set(changes)
              .where(and(eq(timeSlots.id, slotId), isNull(timeSlots.deletedAt)))
              .returning({ id: timeSlots.id }),
            slotUpdated(this.#db, slotId),
            ...this.#promoteWaiters(slotId),
            this.#slotRow(slotId),
          ])
          .then(this.#dispatch)
          .catch((error: unknown) => {
            if (brokenConstraint(error)?.kind === "foreign_key") throw unknownCategory("category_id");
            throw error;
          });
        if (!updated) throw this.#forget(slotNotFound());
        this.#slot = stateOf(row);
        this.#announce(slotId);
        return toSlotView(row);
      }),
    );
  }

  /**
   * Deletes the slot for the admin `actorId`, cancels its live entries (bookings, holds, waiters)
   * and records it, in one D1 batch (one transaction); then tells the watchers and closes their sockets.
   */
  async delete(slotId: number, actorId: number): Promise<Outcome<{ cancelledBookings: number }>> {
    this.#own(slotId);
    return this.#serialized(() =>
      attempt(async () => {
        await this.#load(slotId);
        const now = nowUtcIso();
        const live = and(eq(bookings.timeSlotId, slotId), ne(bookings.status, "CANCELLED"));
        const [, , cancelled, , , [row]] = await this.#db
          .batch([
            auditSlotDeleted(this.#db, actorId, slotId),
            bookingsCancelled(this.#db, live),
            this.#db.update(bookings).set({ status: "CANCELLED", cancelledAt: now }).where(live).returning({ id: bookings.id }),
            this.#db.update(timeSlots).set({ deletedAt: now }).where(eq(timeSlots.id, slotId)),
            slotDeleted(this.#db, slotId),
            this.#slotRow(slotId),
          ])
          .then(this.#dispatch);
        this.#slot = stateOf(row);
        this.#announce(slotId);
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
    this.#own(slotId);
    const known = this.#slot;
    if (known && !known.deleted && availableSpots(known) === 0) return failure(slotFull());
    return this.#serialized(() =>
      attempt(async () => {
        const slot = await this.#load(slotId);
        const now = nowUtcIso();
        if (slot.startTime <= now) throw slotStarted();
        if (availableSpots(slot) === 0) throw slotFull();
        const [[booking], , [from], [row]] = await this.#db
          .batch([...takePlaceStatements(this.#db, slotId, fromBookingId, callerId, now), this.#slotRow(slotId)])
          .catch((error: unknown) => {
            const broken = brokenConstraint(error);
            if (broken?.kind === "unique" && broken.on.startsWith("bookings.")) throw alreadyBooked();
            if (broken?.kind === "unique" && broken.on.startsWith("booking_moves.")) throw rescheduleInProgress();
            if (broken?.kind === "check") throw this.#forget(slotFull());
            throw error;
          });
        this.#slot = stateOf(row);
        if (!booking) {
          if (from?.status !== "BOOKED") throw alreadyCancelled();
          // The slot was deleted or moved behind this object's back.
          throw this.#forget(slotNotFound());
        }
        this.#announce(slotId);
        return toBookingView(booking);
      }),
    );
  }

  /**
   * Rescheduling, step 2, in the source slot's object: cancels `fromBookingId` as moved, if its
   * move is still in progress; the place it frees goes to the first waiter.
   */
  async completeMove(slotId: number, fromBookingId: number): Promise<Outcome<null>> {
    this.#own(slotId);
    return this.#serialized(() =>
      attempt(async () => {
        const [, , moved, , , , [row]] = await this.#db
          .batch([...completeMoveStatements(this.#db, slotId, fromBookingId, nowUtcIso()), ...this.#promoteWaiters(slotId), this.#slotRow(slotId)])
          .then(this.#dispatch);
        this.#slot = stateOf(row);
        if (moved.length === 0) throw alreadyCancelled();
        this.#announce(slotId);
        return null;
      }),
    );
  }

  /**
   * Rescheduling, undone, in the target slot's object: frees the place step 1 took, if the move of
   * `fromBookingId` is still in progress, for the first waiter. `undone` is false if the move had
   * completed or been undone before.
   */
  async releaseMove(slotId: number, fromBookingId: number): Promise<Outcome<{ undone: boolean }>> {
    this.#own(slotId);
    return this.#serialized(() =>
      attempt(async () => {
        const [released, deleted, , , [row]] = await this.#db
          .batch([...releasePlaceStatements(this.#db, slotId, fromBookingId, nowUtcIso()), ...this.#promoteWaiters(slotId), this.#slotRow(slotId)])
          .then(this.#dispatch);
        this.#slot = stateOf(row);
        if (released.length > 0) this.#announce(slotId);
        return { undone: deleted.length > 0 };
      }),
    );
  }

  /** Releases the holds that have expired, promoting waiters into their places, even when no request arrives. */
  async alarm(): Promise<void> {
    const slotId = this.#slotId();
    if (slotId === undefined) {
      console.error(`slot object ${this.ctx.id}: alarm without a known slot; its holds wait for the next request to the slot`);
      return;
    }
    const outcome = await this.#serialized(() => attempt(() => this.#releaseExpiredHolds(slotId)));
    // D1 failed: try again soon rather than leave the places held.
    if (!outcome.ok) await this.ctx.storage.setAlarm(Date.now() + RELEASE_RETRY_MS);
  }

  /**
   * GET /slots/{slot_id}/live, forwarded by the route once it has checked the upgrade: accepts the
   * WebSocket with the hibernation API and sends the current availability.
   */
  async fetch(request: Request): Promise<Response> {
    const slotId = Number(new URL(request.url).pathname.split("/")[1]);
    this.#own(slotId);
    const loaded = await this.#serialized(() => attempt(() => this.#load(slotId)));
    if (!loaded.ok) return Response.json({ detail: loaded.detail, code: loaded.code }, { status: loaded.status });
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.acceptWebSocket(server);
    server.send(JSON.stringify(toSlotAvailability(slotId, loaded.value)));
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Any message from a watcher (but "ping", answered "pong" while hibernating) asks for the current availability. */
  async webSocketMessage(socket: WebSocket): Promise<void> {
    const slotId = this.#slotId();
    if (slotId === undefined) return;
    const loaded = await this.#serialized(() => attempt(() => this.#load(slotId)));
    if (loaded.ok) socket.send(JSON.stringify(toSlotAvailability(slotId, loaded.value)));
  }

  async webSocketClose(socket: WebSocket, code: number): Promise<void> {
    // 1005 and 1006 say that no code was sent; they may not be sent back.
    close(socket, code === 1005 || code === 1006 ? 1000 : code, "");
  }

  async webSocketError(socket: WebSocket): Promise<void> {
    close(socket, 1011, "socket error");
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
      // Every hold gets its alarm before it is written, and the alarm outlives restarts; should one
      // be missing all the same, run it now: it releases what has expired and sets the next one.
      if (row.heldCount > 0 && (await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now());
    }
    if (this.#slot.deleted) throw slotNotFound();
    return this.#slot;
  }

  /** Drops what memory holds, so that the next task reloads it from D1. Returns the error to throw. */
  #forget(error: AppError): AppError {
    this.#slot = undefined;
    return error;
  }

  /** The slot's row as the statements before it in the batch left it: what memory holds after a change. */
  #slotRow(slotId: number) {
    return this.#db.select().from(timeSlots).where(eq(timeSlots.id, slotId));
  }

  /**
   * Moves the earliest waiters into the places free at this point of the batch (none if the slot
   * is deleted), announcing them (booking.promoted): it goes right after every statement that frees
   * a place. Waiters are promoted in id order, which is the order they joined in, since this object
   * inserts them one at a time. The event selects the same rows just before the UPDATE does.
   */
  #promoteWaiters(slotId: number) {
    const free = sql`(SELECT ${timeSlots.maxCapacity} - ${timeSlots.bookedCount} - ${timeSlots.heldCount} FROM ${timeSlots}
      WHERE ${timeSlots.id} = ${slotId} AND ${timeSlots.deletedAt} IS NULL)`;
    const earliest = sql`${bookings.id} IN (SELECT ${bookings.id} FROM ${bookings} WHERE ${bookings.timeSlotId} = ${slotId}
      AND ${bookings.status} = 'WAITLISTED' ORDER BY ${bookings.id} LIMIT coalesce(${free}, 0))`;
    return [waitersPromoted(this.#db, earliest), this.#db.update(bookings).set({ status: "BOOKED" }).where(earliest)] as const;
  }

  /**
   * When a hold made now for `seconds` ends (rounded up to the second), with the alarm set to
   * release it before the hold is written, so that no committed hold is ever without an alarm.
   */
  async #holdUntil(seconds = HOLD_SECONDS.default): Promise<string> {
    const expiresAt = toUtcIso(new Date(Math.ceil((Date.now() + seconds * 1000) / 1000) * 1000));
    // Holds differ in length: the alarm is due at the earliest end, this hold's or one before.
    const due = await this.ctx.storage.getAlarm();
    if (due === null || due > Date.parse(expiresAt)) await this.ctx.storage.setAlarm(Date.parse(expiresAt));
    return expiresAt;
  }

  /**
   * Cancels the holds whose end has passed and promotes waiters into their places, in one batch;
   * then sets the alarm for the next hold to end, read from D1 within the same task, so that a
   * hold made meanwhile cannot be missed.
   */
  async #releaseExpiredHolds(slotId: number): Promise<void> {
    const now = nowUtcIso();
    const held = and(eq(bookings.timeSlotId, slotId), eq(bookings.status, "HELD"));
    const expired = and(held, lte(bookings.expiresAt, now));
    const [, released, , , [{ next }], [row]] = await this.#db
      .batch([
        holdsExpired(this.#db, expired),
        this.#db.update(bookings).set({ status: "CANCELLED", cancelledAt: now }).where(expired).returning({ id: bookings.id }),
        ...this.#promoteWaiters(slotId),
        this.#db.select({ next: min(bookings.expiresAt) }).from(bookings).where(held),
        this.#slotRow(slotId),
      ])
      .then(this.#dispatch);
    if (row) this.#slot = stateOf(row);
    if (released.length > 0) {
      // No request acknowledges this change: the object tells its location's cache itself.
      await afterCommittedChange();
      this.#announce(slotId);
    }
    if (next !== null) await this.ctx.storage.setAlarm(Date.parse(next));
  }

  /**
   * Sends the slot's availability to every watcher once a change has committed: in a timer, so that
   * the next change's D1 call is already under way, and once for all the changes committed until
   * the timer fires, with the state after the last. Sending waits for no socket; a socket that
   * fails is dropped. After a deletion, the sockets close.
   */
  #announce(slotId: number): void {
    if (this.#announcing) return;
    this.#announcing = true;
    setTimeout(() => {
      this.#announcing = false;
      const slot = this.#slot;
      if (!slot) return;
      const message = JSON.stringify(toSlotAvailability(slotId, slot));
      for (const socket of this.ctx.getWebSockets()) {
        try {
          socket.send(message);
          if (slot.deleted) socket.close(1000, "slot deleted");
        } catch {
          close(socket, 1011, "send failed");
        }
      }
    }, 0);
  }

  /** Keeps the slot's id in storage the first time a request names it, for the events that carry none. */
  #own(slotId: number): void {
    if (this.ctx.storage.kv.get<number>(SLOT_ID_KEY) !== slotId) this.ctx.storage.kv.put(SLOT_ID_KEY, slotId);
  }

  /**
   * This object's slot id, for events that carry none (alarms, WebSocket messages): from its own
   * storage. An object that has kept none yet (made before it kept one) falls back on its name,
   * which the runtime gives only when a request named the object.
   */
  #slotId(): number | undefined {
    const kept = this.ctx.storage.kv.get<number>(SLOT_ID_KEY);
    if (kept !== undefined) return kept;
    const named = Number(this.ctx.id.name);
    return Number.isSafeInteger(named) && named > 0 ? named : undefined;
  }

  /**
   * Runs `act` at most once per (user, Idempotency-Key) within the window, and answers repeats
   * with the first outcome. A success is recorded by `act` in the same batch as its change; a
   * refusal (4xx) is recorded after it; a storage failure is not, so a retry runs again.
   */
  async #idempotent<T>(userId: number, idempotency: Idempotency | undefined, act: (remember: Remember) => Promise<T>): Promise<Outcome<T>> {
    const earlier = idempotency && (await this.#recall<T>(userId, idempotency));
    if (earlier) return earlier;
    const { key, request } = idempotency ?? { key: "", request: "" };
    const now = nowUtcIso();
    // One statement either way, so that each batch has a fixed shape; without a key it records nothing.
    const remember: Remember = ({ from, where, outcomeJson }) =>
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
          // `changes() = 1`: record the success only if the change before it changed its row.
          .where(and(where, sql`changes() = 1`, idempotency ? undefined : sql`0`)),
      );
    try {
      const outcome = await attempt(() => act(remember));
      if (idempotency && !outcome.ok) await this.#db.insert(idempotencyKeys).values({ userId, key, request, outcome, createdAt: now });
      return outcome;
    } catch (error) {
      // The same key was recorded meanwhile by a request for another slot: answer as for a repeat.
      const broken = brokenConstraint(error);
      if (idempotency && broken?.kind === "unique" && broken.on.startsWith("idempotency_keys.")) {
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
  const { startTime, endTime, maxCapacity, bookedCount, heldCount, waitlistLength, deletedAt } = row;
  return { startTime, endTime, maxCapacity, bookedCount, heldCount, waitlistLength, deleted: deletedAt !== null };
}

/** Closes a socket that may already be closed. */
function close(socket: WebSocket, code: number, reason: string): void {
  try {
    socket.close(code, reason);
  } catch {
    // Already closed: nothing left to release.
  }
}
