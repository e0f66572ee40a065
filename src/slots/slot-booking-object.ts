import { DurableObject } from "cloudflare:workers";
import { closeWaitlistStatements, deleteSlotStatements, releaseExpiredHoldsStatements, updateSlotStatements } from "../bookings/commands";
import type { BookingOptions, Idempotency } from "../bookings/schemas";
import { brokenConstraint } from "../db/failures";
import type { SlotChanges, TimeSlotRow } from "../db/schema";
import { nowUtcIso } from "../db/time";
import { capacityBelowBookings, slotFull, slotNotFound, unknownCategory } from "../errors/catalogue";
import { afterCommittedChange } from "../http/micro-cache";
import { failure, type Outcome } from "../objects/outcome";
import { slotOfWatch, watcherAddressOf } from "../objects/stubs";
import type { AttendanceView, BookingView } from "../views/booking";
import { type SlotView, toSlotView } from "../views/slot";
import { dispatcher } from "../webhooks/dispatch";
import { HoldAlarm } from "./hold-alarm";
import { type Change, commitGroup, GROUP_LIMIT } from "./group-commit";
import { LiveAnnouncements } from "./live";
import { MoveSteps } from "./move-steps";
import { startNotBeforeEnd } from "./schemas";
import { SerialQueue } from "./serial-queue";
import { SlotIdentity } from "./slot-identity";
import { attendance, cancellation, confirmation, newEntry } from "./slot-changes";
import { knownFull, SlotMemory, type SlotState } from "./slot-state";

/**
 * The object that owns one time slot, named by its id (routes reach it through objects/stubs.ts).
 * Serializes every change to one slot's bookings: book, hold, join the waitlist, confirm, cancel,
 * capacity or time change, delete, moves, the release of expired holds, the end of a started
 * slot's waitlist. This class orchestrates: each command runs its D1 batch (bookings/commands.ts, bookings/moves.ts) as a task of its queue
 * (serial-queue.ts), remembers the slot as the batch left it (slot-state.ts) and tells the watchers
 * (live.ts). Bookings, holds, waitlist joins, cancellations, confirmations and check-ins that
 * arrive while a task runs share the next batch (group-commit.ts, slot-changes.ts). Idempotency records
 * are idempotency.ts's, the alarm that releases holds hold-alarm.ts's. D1 enforces the invariants
 * again (CHECKs on the counts, one live entry per user, triggers keeping the counts), so a caller
 * that bypassed this object still could not overbook. Each batch also writes the webhook events
 * of its change (webhooks/outbox.ts), sent by `#dispatch` once it has committed.
 */
export class SlotBookingObject extends DurableObject<Env> {
  #identity = new SlotIdentity(this.ctx.storage, this.ctx.id);
  #alarm = new HoldAlarm(this.ctx.storage);
  #memory = new SlotMemory(this.#alarm);
  #queue = new SerialQueue(this.env.DB, () => this.#memory.forget());
  #live = new LiveAnnouncements(this.ctx, () => this.#memory.current, this.#alarm);
  /** Passes on a committed batch's results and sends the webhook events it wrote (webhooks/outbox.ts). */
  #dispatch = dispatcher(this.env, this.ctx);
  #moves = new MoveSteps(this.#queue, this.#memory, this.#live, this.#dispatch);

  /**
   * Books a place, holds one (`hold`), or on a full slot joins the waitlist (`waitlist`). The
   * answer's status says which: BOOKED, HELD or WAITLISTED.
   */
  async book(slotId: number, userId: number, options: BookingOptions, idempotency?: Idempotency): Promise<Outcome<BookingView>> {
    this.#identity.own(slotId);
    // A full slot open for booking is answered from memory, without waiting in the queue: memory
    // changes only after D1 has committed, so "full" here is a committed fact (knownFull). A
    // retry with an Idempotency-Key may be owed an earlier 201, so it takes the queue.
    if (!idempotency && !options.waitlist && knownFull(this.#memory.current, nowUtcIso())) return failure(slotFull());
    return this.#together(slotId, newEntry(userId, options, this.#alarm, idempotency));
  }

  /**
   * Cancels a live entry on this slot (see slot-changes.ts `cancellation`). An admin's cancellation
   * of someone else's entry, or after the start, is recorded in the audit log in the same batch.
   */
  async cancel(slotId: number, bookingId: number, callerId: number, idempotency?: Idempotency): Promise<Outcome<null>> {
    this.#identity.own(slotId);
    return this.#together(slotId, cancellation(bookingId, callerId, idempotency));
  }

  /** Turns the caller's unexpired hold on this slot into a booking. Confirming a booking again answers it unchanged. */
  async confirm(slotId: number, bookingId: number, callerId: number): Promise<Outcome<BookingView>> {
    this.#identity.own(slotId);
    return this.#together(slotId, confirmation(bookingId, callerId));
  }

  /**
   * Records for the admin `actorId` that the owner of `bookingId` came (`present`), or undoes it:
   * only for a BOOKED booking; doing it twice changes nothing and answers the same. Audited and
   * announced (booking.checked_in, booking.check_in_undone) in the change's batch.
   */
  async setAttendance(slotId: number, bookingId: number, actorId: number, present: boolean): Promise<Outcome<AttendanceView>> {
    this.#identity.own(slotId);
    return this.#together(slotId, attendance(bookingId, actorId, present));
  }

  /** Changes the slot for the admin `actorId`, recording it in the audit log in the same batch. More places promote waiters. */
  async update(slotId: number, changes: SlotChanges, actorId: number): Promise<Outcome<SlotView>> {
    this.#identity.own(slotId);
    return this.#queue.attempt(async () => {
      const slot = await this.#memory.load(this.#db, slotId);
      const { startTime = slot.startTime, endTime = slot.endTime, maxCapacity = slot.maxCapacity } = changes;
      if (startTime >= endTime) throw startNotBeforeEnd();
      const taken = slot.bookedCount + slot.heldCount;
      if (maxCapacity < taken) throw capacityBelowBookings(maxCapacity, taken);
      const [, [updated], , , , , [row]] = await this.#db
        .batch(updateSlotStatements(this.#db, slotId, changes, actorId))
        .then(this.#dispatch)
        .catch((error: unknown) => {
          if (brokenConstraint(error)?.kind === "foreign_key") throw unknownCategory("category_id");
          throw error;
        });
      if (!updated) throw this.#memory.forget(slotNotFound());
      this.#changed(slotId, row);
      return toSlotView(row);
    });
  }

  /**
   * Deletes the slot for the admin `actorId`, cancels its live entries (bookings, holds, waiters)
   * and records it, in one D1 batch (one transaction); then tells the watchers and closes their sockets.
   */
  async delete(slotId: number, actorId: number): Promise<Outcome<{ cancelledBookings: number }>> {
    this.#identity.own(slotId);
    return this.#queue.attempt(async () => {
      await this.#memory.load(this.#db, slotId);
      const [, , cancelled, , , [row]] = await this.#db.batch(deleteSlotStatements(this.#db, slotId, actorId, nowUtcIso())).then(this.#dispatch);
      this.#changed(slotId, row);
      return { cancelledBookings: cancelled.length };
    });
  }

  /**
   * Once the slot has started, ends its waiters' entries (CANCELLED, announced as waitlist.closed):
   * no place will be given to them. Called by the cron (maintenance/scheduled.ts).
   */
  async closeWaitlist(slotId: number): Promise<Outcome<{ closed: number }>> {
    this.#identity.own(slotId);
    return this.#queue.attempt(async () => {
      const [, closed, [row]] = await this.#db.batch(closeWaitlistStatements(this.#db, slotId, nowUtcIso())).then(this.#dispatch);
      if (row) this.#changed(slotId, row);
      return { closed: closed.length };
    });
  }

  /** Rescheduling, step 1, in the target slot's object: see MoveSteps.takePlace (move-steps.ts). */
  async takeForMove(slotId: number, fromBookingId: number, callerId: number): Promise<Outcome<BookingView>> {
    this.#identity.own(slotId);
    return this.#moves.takePlace(slotId, fromBookingId, callerId);
  }

  /** Rescheduling, step 2, in the source slot's object: see MoveSteps.complete. */
  async completeMove(slotId: number, fromBookingId: number): Promise<Outcome<null>> {
    this.#identity.own(slotId);
    return this.#moves.complete(slotId, fromBookingId);
  }

  /** Rescheduling, undone, in the target slot's object: see MoveSteps.release. */
  async releaseMove(slotId: number, fromBookingId: number): Promise<Outcome<{ undone: boolean }>> {
    this.#identity.own(slotId);
    return this.#moves.release(slotId, fromBookingId);
  }

  /**
   * Releases the holds that have expired, promoting waiters into their places, even when no request
   * arrives; then sets the alarm for the next hold to end, read from D1 within the same task, so
   * that a hold made meanwhile cannot be missed. First, closes idle watchers (live.ts).
   */
  async alarm(): Promise<void> {
    await this.#live.closeIdle();
    const slotId = this.#identity.slotId;
    if (slotId === undefined) return console.error(`slot object ${this.ctx.id}: an alarm, but no slot known; its holds wait for a request`);
    const outcome = await this.#queue.attempt(async () => {
      const [, released, , , [{ next }], [row]] = await this.#db.batch(releaseExpiredHoldsStatements(this.#db, slotId, nowUtcIso())).then(this.#dispatch);
      if (row) this.#memory.remember(row);
      if (released.length > 0) {
        // No request acknowledges this change: the object tells its location's micro-cache itself.
        await afterCommittedChange();
        this.#live.announce(slotId);
      }
      await this.#alarm.setForNext(next);
    });
    // Try again soon rather than leave the places held.
    if (!outcome.ok) {
      this.#report("releasing expired holds", outcome);
      await this.#alarm.retrySoon();
    }
  }

  /**
   * GET /slots/{slot_id}/live, forwarded by the route once it has checked the upgrade: accepts the
   * WebSocket with the hibernation API and sends the current availability. A refusal is answered
   * with its failed Outcome as JSON, for the route to unwrap (and log) like any other.
   */
  async fetch(request: Request): Promise<Response> {
    const slotId = slotOfWatch(request);
    this.#identity.own(slotId);
    const loaded = await this.#queue.attempt(() => this.#memory.load(this.#db, slotId));
    if (!loaded.ok) {
      const { bookmark: _, ...refusal } = loaded;
      return Response.json(refusal, { status: loaded.status });
    }
    return this.#live.accept(slotId, loaded.value, watcherAddressOf(request));
  }

  /** Any message from a watcher (but "ping", answered "pong" while hibernating) asks for the current availability. */
  async webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (!this.#live.heard(socket, message)) return;
    const slotId = this.#identity.slotId;
    if (slotId === undefined) return;
    const loaded = await this.#queue.attempt(() => this.#memory.load(this.#db, slotId));
    if (loaded.ok) this.#live.reply(socket, slotId, loaded.value);
    else this.#report("answering a watcher", loaded);
  }

  async webSocketClose(socket: WebSocket, code: number): Promise<void> {
    this.#live.closed(socket, code);
  }

  async webSocketError(socket: WebSocket): Promise<void> {
    this.#live.failed(socket);
  }

  /** What this object currently believes about its slot (undefined if not loaded). For tests and diagnostics. */
  async inspect(): Promise<SlotState | undefined> {
    return this.#memory.current;
  }

  /**
   * Queues `change` with those that gather while earlier tasks run: one D1 batch for the group
   * (group-commit.ts), each change answered as if it had run alone in arrival order.
   */
  #together<T>(slotId: number, change: Change<T>): Promise<Outcome<T>> {
    const announce = () => this.#live.announce(slotId);
    const commit = (changes: Change<unknown>[]) => commitGroup({ db: this.#db, slotId, memory: this.#memory, dispatch: this.#dispatch, announce }, changes);
    return this.#queue.gather(change as Change<unknown>, commit, GROUP_LIMIT) as Promise<Outcome<T>>;
  }

  /** The running task's handle on D1. */
  get #db() {
    return this.#queue.db;
  }

  /** A change committed: memory holds the slot's row as it left it, and the watchers are told. */
  #changed(slotId: number, row: TimeSlotRow): void {
    this.#memory.remember(row);
    this.#live.announce(slotId);
  }

  /** Logs a 5xx of work no request waits for (the alarm, a watcher's message): a request's is logged by the Worker. */
  #report(work: string, outcome: Outcome<unknown> & { ok: false }): void {
    if (outcome.status >= 500) console.error(`slot ${this.#identity.slotId}: ${work}: ${outcome.status} ${outcome.code}: ${outcome.detail}`, outcome.cause);
  }
}
