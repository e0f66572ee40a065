import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { BookingView } from "../src/views/booking";
import type { BookingStatus } from "../src/db/schema";
import type { ErrorBody } from "../src/errors/catalogue";
import type { SlotView } from "../src/views/slot";
import { slotObject } from "../src/objects/stubs";
import type { SlotState } from "../src/slots/slot-state";
import { comparisonKey } from "../src/values/text";
import { alarmOf, expireHolds, runAlarm } from "./support/bookings";
import { api, FRESH, type ApiResponse } from "./support/client";
import { createSlot, slotEntries } from "./support/slots";
import { createUser, createUsers, type TestUser } from "./support/users";
import { propertyRunSettings } from "./support/properties";

// Model-based test of the booking rules under concurrency: bookings, holds, waitlist joins and
// leaves, confirmations, hold expiries, capacity changes and deletions.
//
// Each scenario makes 6 users, an admin and 3 slots (in a category of its own), then fires
// batches of random operations at the Worker, each batch all at once (Promise.all). A batch may
// be serialized in any order, so the test does not predict its responses. It checks each
// response against what some order of the batch could produce, then rebuilds the reference model
// from the responses that succeeded. Two things only the order decides are read from D1 and
// checked against the rules: which waiters were promoted (only when a place was freed, first come
// first served, never into more places than were free) and which holds expired (only on an
// expiry). Then D1, every slot object and its alarm, and GET /slots must agree with the model
// exactly after every batch, and the invariants must hold: booked + held <= max_capacity, one
// live entry per user and slot, available_spots = max_capacity - booked - held, and no place free
// while someone waits. After a scenario's last batch, each user's GET /bookings must show the
// model's entries, with each waiter's position.
//
// An expiry is the 5 minutes of a slot's holds passing: their expires_at moves to the past in D1
// (support/bookings.ts, expireHolds), then the slot object's alarm runs, as the runtime would run it.
//
// The seed is random and printed; fast-check prints the seed and path of a failure. Replay:
//   VITE_FC_SEED=<seed> VITE_FC_PATH="<path>" npx vitest run test/model.test.ts
// (VITE_FC_RUNS=1000 for a longer soak.)

const USERS = 6;
const SLOTS = 3;
const MAX_CAPACITY = 4;
/** Ids no booking will reach in a test run, for cancelling "a booking that does not exist". */
const UNKNOWN_BOOKING_ID = 1_000_000_000;

/** How a booking request asks: a place, a place or else a waitlist place, or a 5-minute hold. */
type Mode = "book" | "waitlist" | "hold";
/**
 * The entry a cancel or confirm aims at: the user's live entry on the slot if the model knows
 * one, else one of the user's own entries (live ones first, on any slot), any entry known, or an
 * id never issued.
 */
type Fallback = { own: number } | { known: number } | { unknown: number };
type Operation =
  | { kind: "book"; mode: Mode; user: number; slot: number }
  | { kind: "cancel"; user: number; slot: number; otherwise: Fallback }
  | { kind: "confirm"; user: number; slot: number; otherwise: Fallback }
  | { kind: "setCapacity"; slot: number; capacity: number }
  | { kind: "deleteSlot"; slot: number }
  | { kind: "expire"; slot: number };

const userIndex = fc.nat(USERS - 1);
// Slot 0 more often than the others: contention, and so waitlists and promotions, on at least one slot.
const slotIndex = fc.constantFrom(0, 1, 2, 0, 0);
const fallback: fc.Arbitrary<Fallback> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ own: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ known: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ unknown: fc.nat(1_000_000) }) },
);
const operation: fc.Arbitrary<Operation> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant("book" as const),
      mode: fc.constantFrom<Mode>("book", "waitlist", "hold", "waitlist"),
      user: userIndex,
      slot: slotIndex,
    }),
  },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("cancel" as const), user: userIndex, slot: slotIndex, otherwise: fallback }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("confirm" as const), user: userIndex, slot: slotIndex, otherwise: fallback }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("setCapacity" as const), slot: slotIndex, capacity: fc.integer({ min: 1, max: MAX_CAPACITY }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("deleteSlot" as const), slot: slotIndex }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("expire" as const), slot: slotIndex }) },
);
// At most one expiry per slot in a batch: a second one could move a hold's end to the past after
// the first alarm had set the next one, which the runtime would then fire on its own, after the
// batch, rather than in it.
const batch = fc
  .array(operation, { minLength: 3, maxLength: 10 })
  .map((ops) => ops.filter((op, i) => op.kind !== "expire" || ops.findIndex((o) => o.kind === "expire" && o.slot === op.slot) === i));
const scenario = fc.record({
  capacities: fc.array(fc.integer({ min: 1, max: MAX_CAPACITY - 1 }), { minLength: SLOTS, maxLength: SLOTS }),
  batches: fc.array(batch, { minLength: 2, maxLength: 4 }),
});

type ModelSlot = { id: number; capacity: number; deleted: boolean; startTime: string; endTime: string };
/**
 * `expired`: a hold that ended unconfirmed (its row: CANCELLED, cancelled_at >= expires_at).
 * `endedHold`: a hold that ended unconfirmed, expired or cancelled (CANCELLED, expires_at set): its
 * user may not hold the slot again for a minute (bookings/hold-rules.ts), longer than a run.
 */
type ModelBooking = { id: number; user: number; slot: number; status: BookingStatus; expired: boolean; endedHold: boolean };
/** The reference model: what the rules say the world holds. Bookings are kept in id order. */
type Model = { slots: ModelSlot[]; bookings: ModelBooking[] };

type Answer = Partial<BookingView & SlotView & ErrorBody & { message: string; cancelled_bookings: number }>;
/** One operation of a batch as sent: `target` is the booking a cancel or confirm aimed at; an expiry has no response. */
type Outcome = { operation: Operation; target?: number; response?: ApiResponse<Answer> };

type World = {
  users: TestUser[];
  admin: TestUser;
  categoryId: number;
  model: Model;
};

const stats = {
  scenarios: 0,
  operations: 0,
  kinds: {} as Record<string, number>,
  statuses: {} as Record<number, number>,
  promotions: 0,
  expiries: 0,
};

const isLive = (b: ModelBooking) => b.status !== "CANCELLED";
const liveEntry = (model: Model, userIndex: number, slotIndex: number) =>
  model.bookings.find((b) => isLive(b) && b.user === userIndex && b.slot === slotIndex);
const countOf = (model: Model, slotIndex: number, status: BookingStatus) =>
  model.bookings.filter((b) => b.slot === slotIndex && b.status === status).length;
/** Places taken: booked and held. */
const takenOf = (model: Model, slotIndex: number) => countOf(model, slotIndex, "BOOKED") + countOf(model, slotIndex, "HELD");
/** A waiter's place in line: 1 + the waiters of its slot ahead of it. */
const positionOf = (model: Model, b: ModelBooking) =>
  model.bookings.filter((w) => w.slot === b.slot && w.status === "WAITLISTED" && w.id <= b.id).length;

let categoryCounter = 0;
async function newWorld(capacities: number[]): Promise<World> {
  const [users, admin] = await Promise.all([createUsers(USERS), createUser("ADMIN")]);
  const name = `model-${Date.now()}-${++categoryCounter}`;
  const category = await env.DB.prepare("INSERT INTO categories (name, name_key) VALUES (?, ?) RETURNING id")
    .bind(name, comparisonKey(name))
    .first<{ id: number }>();
  const categoryId = category!.id;
  const ids = await Promise.all(capacities.map((capacity, i) => createSlot({ capacity, categoryId, startsInHours: 24 + i })));
  const times = await Promise.all(
    ids.map((id) => env.DB.prepare("SELECT start_time, end_time FROM time_slots WHERE id = ?").bind(id).first<{ start_time: string; end_time: string }>()),
  );
  const slots = ids.map((id, i): ModelSlot => ({ id, capacity: capacities[i], deleted: false, startTime: times[i]!.start_time, endTime: times[i]!.end_time }));
  return { users, admin, categoryId, model: { slots, bookings: [] } };
}

/** The booking a cancel or confirm aims at, chosen from the model as it was when the batch started. */
function targetOf(model: Model, op: Extract<Operation, { otherwise: Fallback }>): number {
  const live = liveEntry(model, op.user, op.slot);
  if (live) return live.id;
  const own = model.bookings.filter((b) => b.user === op.user);
  const ownLive = own.filter(isLive);
  const pick = (from: ModelBooking[], index: number) => (from.length > 0 ? from[index % from.length].id : UNKNOWN_BOOKING_ID);
  const { otherwise } = op;
  if ("own" in otherwise) return pick(ownLive.length > 0 ? ownLive : own, otherwise.own);
  if ("known" in otherwise) return pick(model.bookings, otherwise.known);
  return UNKNOWN_BOOKING_ID + otherwise.unknown;
}

function send(world: World, op: Operation): Promise<Outcome> {
  const { users, admin, model } = world;
  const respond = (response: Promise<ApiResponse<Answer>>, target?: number) =>
    response.then((answer): Outcome => ({ operation: op, target, response: answer }));
  switch (op.kind) {
    case "book": {
      const asked = op.mode === "book" ? {} : { [op.mode]: true };
      return respond(api("POST", "/bookings", { token: users[op.user].token, body: { time_slot_id: model.slots[op.slot].id, ...asked } }));
    }
    case "cancel": {
      const target = targetOf(model, op);
      return respond(api("DELETE", `/bookings/${target}`, { token: users[op.user].token }), target);
    }
    case "confirm": {
      const target = targetOf(model, op);
      return respond(api("POST", `/bookings/${target}/confirm`, { token: users[op.user].token }), target);
    }
    case "setCapacity":
      return respond(api("PUT", `/admin/slots/${model.slots[op.slot].id}`, { token: admin.token, body: { max_capacity: op.capacity } }));
    case "deleteSlot":
      return respond(api("DELETE", `/admin/slots/${model.slots[op.slot].id}`, { token: admin.token }));
    case "expire": {
      const slotId = model.slots[op.slot].id;
      return expireHolds(slotId)
        .then(() => runAlarm(slotId))
        .then((): Outcome => ({ operation: op }));
    }
  }
}

const succeeded = (outcome: Outcome, kind: Operation["kind"], status: number) =>
  outcome.operation.kind === kind && outcome.response?.status === status;

/** What a batch did to one slot, counted from its successful responses, with bounds on what the order may have done. */
function batchEffects(model: Model, outcomes: Outcome[], slotIndex: number) {
  const onSlot = (o: Outcome) =>
    o.target !== undefined ? model.bookings.find((b) => b.id === o.target)?.slot === slotIndex : o.operation.slot === slotIndex;
  const on = (kind: Operation["kind"], status: number) => outcomes.filter((o) => succeeded(o, kind, status) && onSlot(o));
  const takenBefore = takenOf(model, slotIndex);
  const waitingBefore = countOf(model, slotIndex, "WAITLISTED");
  const newTaken = on("book", 201);
  const newHeld = newTaken.filter((o) => o.response!.body.status === "HELD").length;
  const newWaiting = on("book", 202).length;
  const cancelled = on("cancel", 200).length;
  const expiries = outcomes.filter((o) => o.operation.kind === "expire" && o.operation.slot === slotIndex).length;
  const capacities = on("setCapacity", 200).map(({ operation }) => (operation.kind === "setCapacity" ? operation.capacity : 0));
  const deletions = on("deleteSlot", 200).length;
  /** At most this many places were freed: every cancellation, and every hold if they expired. */
  const freedAtMost = cancelled + (expiries > 0 ? countOf(model, slotIndex, "HELD") + newHeld : 0);
  return {
    liveBefore: takenBefore + waitingBefore,
    newTaken: newTaken.length,
    newWaiting,
    cancelled,
    expiries,
    capacities,
    deletions,
    freedAtMost,
    /** Bounds on the places taken (booked + held) at any moment during the batch: promotions take at most every waiter. */
    fewestTaken: Math.max(0, takenBefore - freedAtMost),
    mostTaken: takenBefore + newTaken.length + waitingBefore + newWaiting,
    /** At most this many waited at any moment. */
    mostWaiting: waitingBefore + newWaiting,
    /** The smallest and largest capacity the slot had at any moment during the batch. */
    smallestCapacity: Math.min(model.slots[slotIndex].capacity, ...capacities),
    largestCapacity: Math.max(model.slots[slotIndex].capacity, ...capacities),
    /** True if the slot was deleted before or during the batch. */
    goneAtSomePoint: model.slots[slotIndex].deleted || deletions > 0,
  };
}

function describeOutcome({ operation, target, response }: Outcome): string {
  const { kind, ...args } = operation;
  const answer = response ? ` answered ${response.status} ${JSON.stringify(response.body)}` : "";
  return `${kind}(${JSON.stringify(args)}${target === undefined ? "" : ` -> booking ${target}`})${answer}`;
}

/** Each response must be one that some serialization of the batch, applied to `model`, could give. */
function expectPossible(world: World, outcomes: Outcome[]) {
  const { model, users } = world;
  const effects = model.slots.map((_, s) => batchEffects(model, outcomes, s));
  const now = new Date().toISOString();
  for (const outcome of outcomes) {
    const { operation: op, response } = outcome;
    if (!response) continue;
    const { status, body } = response;
    const what = describeOutcome(outcome);
    expect(status, `no 5xx: ${what}`).toBeLessThan(500);
    if (status >= 400) expect(body, `errors are {detail, code}: ${what}`).toMatchObject({ detail: expect.any(String), code: expect.any(String) });
    const outcomeKey = status >= 400 ? `${status} ${body.code}` : `${status}`;

    switch (op.kind) {
      case "book": {
        const slot = model.slots[op.slot];
        const fx = effects[op.slot];
        const heldBefore = liveEntry(model, op.user, op.slot);
        const sameUser = outcomes.filter((o) => o.operation.kind === "book" && o.operation.user === op.user && o.operation.slot === op.slot);
        const entries = sameUser.filter((o) => o.response!.status === 201 || o.response!.status === 202).length;
        // The user's earlier entry may have ended in the batch: cancelled, or a hold that expired.
        const freedOwn =
          heldBefore !== undefined &&
          (outcomes.some((o) => o.target === heldBefore.id && succeeded(o, "cancel", 200)) || (heldBefore.status === "HELD" && fx.expiries > 0));
        const entered = () => {
          expect(slot.deleted, `a deleted slot takes no booking: ${what}`).toBe(false);
          expect(entries, `a user holds at most one live entry per slot: ${what}`).toBeLessThanOrEqual((heldBefore ? 0 : 1) + (freedOwn ? 1 : 0));
        };
        const base = { id: expect.any(Number), user_id: users[op.user].id, time_slot_id: slot.id };
        switch (`${op.mode} ${outcomeKey}`) {
          case "book 201":
          case "waitlist 201":
            expect(body, what).toEqual({ ...base, status: "BOOKED" });
            entered();
            break;
          case "hold 201":
            expect(body, what).toEqual({ ...base, status: "HELD", expires_at: expect.any(String) });
            expect(body.expires_at! > now, `a hold ends in the future: ${what}`).toBe(true);
            entered();
            break;
          case "waitlist 202":
            expect(body, what).toEqual({ ...base, status: "WAITLISTED", position: expect.any(Number) });
            expect(body.position, `a waiter's position is within the line: ${what}`).toBeGreaterThanOrEqual(1);
            expect(body.position, what).toBeLessThanOrEqual(fx.mostWaiting);
            expect(fx.mostTaken, `only a slot full at some moment has a waitlist: ${what}`).toBeGreaterThanOrEqual(fx.smallestCapacity);
            entered();
            break;
          case "book 409 slot_full":
          case "hold 409 slot_full":
            expect(slot.deleted, what).toBe(false);
            expect(fx.mostTaken, `slot_full only if the slot was full at some moment: ${what}`).toBeGreaterThanOrEqual(fx.smallestCapacity);
            break;
          case "hold 409 hold_cooldown":
            expect(
              model.bookings.some((b) => b.user === op.user && b.slot === op.slot && (b.endedHold || b.status === "HELD")) ||
                sameUser.some((o) => o.operation.kind === "book" && o.operation.mode === "hold" && o.response!.status === 201),
              `hold_cooldown only after the user's hold on the slot ended: ${what}`,
            ).toBe(true);
            break;
          case "book 409 already_booked":
          case "waitlist 409 already_booked":
          case "hold 409 already_booked":
            expect(heldBefore !== undefined || entries > 0, `already_booked only if the user had a live entry: ${what}`).toBe(true);
            break;
          case "book 404 slot_not_found":
          case "waitlist 404 slot_not_found":
          case "hold 404 slot_not_found":
            expect(fx.goneAtSomePoint, `slot_not_found only for a deleted slot: ${what}`).toBe(true);
            break;
          default:
            expect.unreachable(`unexpected answer to a booking: ${what}`);
        }
        break;
      }
      case "cancel":
      case "confirm": {
        const target = model.bookings.find((b) => b.id === outcome.target);
        if (!target || target.user !== op.user) {
          expect(outcomeKey, `someone else's or an unknown booking is 404: ${what}`).toBe("404 booking_not_found");
          break;
        }
        const fx = effects[target.slot];
        const cancelledByAnother = outcomes.some((o) => o !== outcome && o.target === target.id && succeeded(o, "cancel", 200));
        const cancelledInBatch = cancelledByAnother || fx.deletions > 0;
        const expiredInBatch = target.status === "HELD" && fx.expiries > 0;
        if (op.kind === "cancel") {
          switch (outcomeKey) {
            case "200":
              expect(isLive(target), `only a live entry can be cancelled: ${what}`).toBe(true);
              expect(cancelledByAnother, `an entry is cancelled once: ${what}`).toBe(false);
              break;
            case "409 already_cancelled":
              expect(!isLive(target) || cancelledInBatch || expiredInBatch, `already_cancelled only if it was: ${what}`).toBe(true);
              break;
            default:
              expect.unreachable(`unexpected answer to the owner's cancel: ${what}`);
          }
          break;
        }
        switch (outcomeKey) {
          case "200":
            expect(body, what).toEqual({ id: target.id, user_id: users[op.user].id, time_slot_id: model.slots[target.slot].id, status: "BOOKED" });
            // A waiter may have been promoted in the batch, before its confirm.
            expect(isLive(target), `only a live hold or booking is confirmed: ${what}`).toBe(true);
            break;
          case "409 hold_expired":
            expect(target.expired || expiredInBatch, `hold_expired only for a hold that expired: ${what}`).toBe(true);
            break;
          case "409 already_cancelled":
            expect((!isLive(target) && !target.expired) || cancelledInBatch, `already_cancelled only if it was: ${what}`).toBe(true);
            break;
          case "409 not_held":
            expect(target.status, `not_held only for a waiter: ${what}`).toBe("WAITLISTED");
            break;
          default:
            expect.unreachable(`unexpected answer to the owner's confirm: ${what}`);
        }
        break;
      }
      case "setCapacity": {
        const slot = model.slots[op.slot];
        const fx = effects[op.slot];
        switch (outcomeKey) {
          case "200":
            expect(slot.deleted, what).toBe(false);
            expect(body, what).toMatchObject({ id: slot.id, category_id: world.categoryId, max_capacity: op.capacity });
            expect(op.capacity, `capacity is never set below the booked and held places: ${what}`).toBeGreaterThanOrEqual(fx.fewestTaken);
            expect(body.available_spots, `available_spots == max_capacity - booked - held: ${what}`).toBeGreaterThanOrEqual(
              Math.max(0, op.capacity - fx.mostTaken),
            );
            expect(body.available_spots, what).toBeLessThanOrEqual(op.capacity - fx.fewestTaken);
            expect(body.waitlist_length, what).toBeLessThanOrEqual(fx.mostWaiting);
            if (body.waitlist_length! > 0) expect(body.available_spots, `no place is free while someone waits: ${what}`).toBe(0);
            break;
          case "409 capacity_below_bookings":
            expect(slot.deleted, what).toBe(false);
            expect(op.capacity, `capacity_below_bookings only if it was: ${what}`).toBeLessThan(fx.mostTaken);
            break;
          case "404 slot_not_found":
            expect(fx.goneAtSomePoint, what).toBe(true);
            break;
          default:
            expect.unreachable(`unexpected answer to a capacity change: ${what}`);
        }
        break;
      }
      case "deleteSlot": {
        const slot = model.slots[op.slot];
        const fx = effects[op.slot];
        switch (outcomeKey) {
          case "200":
            expect(slot.deleted, what).toBe(false);
            expect(fx.deletions, `a slot is deleted once: ${what}`).toBe(1);
            expect(body.message, what).toBe("Slot deleted");
            expect(body.cancelled_bookings, `cancels exactly the live entries: ${what}`).toBeGreaterThanOrEqual(fx.liveBefore - fx.freedAtMost);
            expect(body.cancelled_bookings, what).toBeLessThanOrEqual(fx.liveBefore + fx.newTaken + fx.newWaiting);
            break;
          case "404 slot_not_found":
            expect(fx.goneAtSomePoint, what).toBe(true);
            break;
          default:
            expect.unreachable(`unexpected answer to a slot deletion: ${what}`);
        }
        break;
      }
    }
  }
}

/**
 * The model after the batch: its successful responses applied, then what only the order decided,
 * read from D1 and checked against the rules. A waiter D1 shows BOOKED was promoted: only when
 * the batch freed a place, never into more places than were free, first come first served. A
 * hold D1 shows CANCELLED without a cancellation expired: only when the batch expired holds. The
 * final capacity of a slot changed more than once must be one of the values set.
 */
function applyBatch(model: Model, outcomes: Outcome[], observed: Observation): Model {
  const bookings = model.bookings.map((b) => ({ ...b }));
  const slots = model.slots.map((s) => ({ ...s }));
  const entry = (id: number | undefined) => bookings.find((b) => b.id === id)!;
  for (const outcome of outcomes) {
    const { operation: op, response, target } = outcome;
    if (op.kind === "book" && (response!.status === 201 || response!.status === 202)) {
      bookings.push({ id: response!.body.id!, user: op.user, slot: op.slot, status: response!.body.status!, expired: false, endedHold: false });
    }
    if (succeeded(outcome, "confirm", 200)) entry(target).status = "BOOKED";
    if (succeeded(outcome, "deleteSlot", 200)) slots[op.slot].deleted = true;
  }
  // After the confirmations: an entry confirmed and cancelled in one batch was confirmed first.
  for (const outcome of outcomes) if (succeeded(outcome, "cancel", 200)) entry(outcome.target).status = "CANCELLED";
  const rows = new Map(observed.rows.map((row) => [row.id, row]));
  for (const [s, slot] of slots.entries()) {
    const fx = batchEffects(model, outcomes, s);
    if (fx.capacities.length === 1) slot.capacity = fx.capacities[0];
    if (fx.capacities.length > 1) {
      const final = observed.counts[s].max_capacity;
      expect(fx.capacities, `slot ${slot.id} ends with one of the capacities set in the batch`).toContain(final);
      slot.capacity = final;
    }
    const ofSlot = bookings.filter((b) => b.slot === s);
    if (slot.deleted) for (const b of ofSlot) b.status = "CANCELLED";
    const promoted: number[] = [];
    for (const b of ofSlot) {
      const row = rows.get(b.id);
      if (b.status === "WAITLISTED" && row?.status === "BOOKED") {
        promoted.push(b.id);
        b.status = "BOOKED";
      }
      if (b.status === "HELD" && row?.status === "CANCELLED") {
        expect(fx.expiries, `slot ${slot.id}: hold ${b.id} was released without a cancellation, so only by an expiry`).toBe(1);
        b.status = "CANCELLED";
        stats.expiries += 1;
      }
      b.expired = row !== undefined && row.status === "CANCELLED" && row.expires_at !== null && row.cancelled_at! >= row.expires_at;
      b.endedHold = row !== undefined && row.status === "CANCELLED" && row.expires_at !== null;
    }
    stats.promotions += promoted.length;
    if (promoted.length === 0) continue;
    // The capacity rose at some moment if a value set exceeds one it had before or during the batch.
    const grew = fx.capacities.some((capacity) => capacity > fx.smallestCapacity);
    expect(fx.cancelled > 0 || fx.expiries > 0 || grew, `slot ${slot.id}: waiters ${promoted} promoted only when a place was freed`).toBe(true);
    expect(fx.newTaken + promoted.length, `slot ${slot.id}: a batch takes no more places than were ever free`).toBeLessThanOrEqual(
      fx.largestCapacity - fx.fewestTaken,
    );
    const stillWaiting = ofSlot.filter((b) => b.status === "WAITLISTED").map((b) => b.id);
    expect(Math.max(...promoted), `slot ${slot.id}: first come, first served: ${promoted} promoted before ${stillWaiting}`).toBeLessThan(
      Math.min(Infinity, ...stillWaiting),
    );
  }
  bookings.sort((a, b) => a.id - b.id);
  return { slots, bookings };
}

type BookingRow = { id: number; user_id: number; time_slot_id: number; status: BookingStatus; expires_at: string | null; cancelled_at: string | null };

/** What the world holds after a batch, read all at once: D1, each slot object and (with live holds) its alarm, GET /slots. */
type Observation = {
  counts: Awaited<ReturnType<typeof slotEntries>>[];
  deletedIds: number[];
  rows: BookingRow[];
  objects: (SlotState | undefined)[];
  alarms: (number | null | undefined)[];
  listed: ApiResponse<SlotView[]>;
};

async function observe({ model, users, categoryId }: World): Promise<Observation> {
  const slotIds = model.slots.map((s) => s.id);
  const userIds = users.map((u) => u.id);
  const marks = (values: number[]) => values.map(() => "?").join(", ");
  const [counts, deleted, rows, objects, listed] = await Promise.all([
    Promise.all(slotIds.map((id) => slotEntries(id))),
    env.DB.prepare(`SELECT id FROM time_slots WHERE id IN (${marks(slotIds)}) AND deleted_at IS NOT NULL ORDER BY id`)
      .bind(...slotIds)
      .all<{ id: number }>(),
    // Every booking row of these slots or these users: a row written anywhere else would show too.
    env.DB.prepare(
      `SELECT id, user_id, time_slot_id, status, expires_at, cancelled_at FROM bookings
        WHERE time_slot_id IN (${marks(slotIds)}) OR user_id IN (${marks(userIds)}) ORDER BY id`,
    )
      .bind(...slotIds, ...userIds)
      .all<BookingRow>(),
    Promise.all(slotIds.map((id) => slotObject(env, id).inspect())),
    api<SlotView[]>("GET", `/slots?categories=${categoryId}&limit=500`, { headers: FRESH }),
  ]);
  const holding = (id: number) => rows.results.some((row) => row.time_slot_id === id && row.status === "HELD");
  const alarms = await Promise.all(slotIds.map((id) => (holding(id) ? alarmOf(id) : undefined)));
  return { counts, deletedIds: deleted.results.map((r) => r.id), rows: rows.results, objects, alarms, listed };
}

/** The invariants on the model, then D1, each slot object and its alarm, and GET /slots must equal the model. */
function expectWorldMatchesModel({ model, users, categoryId }: World, observed: Observation) {
  const userIds = users.map((u) => u.id);

  for (const [s, slot] of model.slots.entries()) {
    const taken = takenOf(model, s);
    expect(taken, `slot ${slot.id}: booked + held places never exceed max_capacity`).toBeLessThanOrEqual(slot.capacity);
    if (countOf(model, s, "WAITLISTED") > 0) expect(taken, `slot ${slot.id}: no place is free while someone waits`).toBe(slot.capacity);
    for (const u of userIds.keys()) {
      const live = model.bookings.filter((b) => isLive(b) && b.user === u && b.slot === s).length;
      expect(live, `user ${userIds[u]} holds at most one live entry on slot ${slot.id}`).toBeLessThanOrEqual(1);
    }
  }

  // (a) D1: the slot rows with their maintained counts, and every booking row of these slots or users.
  for (const [s, slot] of model.slots.entries()) {
    const [booked, held, waiting] = (["BOOKED", "HELD", "WAITLISTED"] as const).map((status) => countOf(model, s, status));
    expect(observed.counts[s], `D1 slot ${slot.id}`).toEqual({
      max_capacity: slot.capacity,
      booked_count: booked,
      held_count: held,
      waitlist_length: waiting,
      deleted: slot.deleted ? 1 : 0,
      booked_rows: booked,
      held_rows: held,
      waiting_rows: waiting,
    });
  }
  expect(observed.deletedIds, "D1 marks exactly the deleted slots").toEqual(model.slots.filter((s) => s.deleted).map((s) => s.id));
  expect(
    observed.rows.map(({ id, user_id, time_slot_id, status }) => ({ id, user_id, time_slot_id, status })),
    "D1 holds exactly the model's bookings, nothing half-written",
  ).toEqual(model.bookings.map((b) => ({ id: b.id, user_id: userIds[b.user], time_slot_id: model.slots[b.slot].id, status: b.status })));
  const now = new Date().toISOString();
  for (const row of observed.rows.filter((r) => r.status === "HELD")) {
    expect(row.expires_at! > now, `hold ${row.id}: every hold past its end has been released`).toBe(true);
  }

  // (b) Each slot object, if it has loaded its slot, believes what D1 holds; an object with live
  // holds has its alarm set, due no later than the first of them ends.
  for (const [s, slot] of model.slots.entries()) {
    const state = observed.objects[s];
    if (state !== undefined) {
      expect(state, `slot object ${slot.id} believes ${JSON.stringify(state)}`).toEqual({
        startTime: slot.startTime,
        endTime: slot.endTime,
        maxCapacity: slot.capacity,
        bookedCount: countOf(model, s, "BOOKED"),
        heldCount: countOf(model, s, "HELD"),
        waitlistLength: countOf(model, s, "WAITLISTED"),
        bookingOpensAt: null,
        bookingClosesAt: null,
        deleted: slot.deleted,
      });
    }
    const holdEnds = observed.rows.filter((r) => r.time_slot_id === slot.id && r.status === "HELD").map((r) => Date.parse(r.expires_at!));
    if (holdEnds.length > 0) {
      expect(observed.alarms[s], `slot ${slot.id} has live holds, so an alarm`).not.toBeNull();
      expect(observed.alarms[s], `slot ${slot.id}: the alarm is due by the first hold's end`).toBeLessThanOrEqual(Math.min(...holdEnds));
    }
  }

  // (c) GET /slots lists exactly the slots not deleted, with available_spots == max_capacity - booked - held.
  expect(observed.listed.status).toBe(200);
  expect(observed.listed.body, "GET /slots").toEqual(
    model.slots.flatMap((slot, s): SlotView[] =>
      slot.deleted
        ? []
        : [
            {
              id: slot.id,
              category_id: categoryId,
              start_time: slot.startTime,
              end_time: slot.endTime,
              max_capacity: slot.capacity,
              available_spots: slot.capacity - takenOf(model, s),
              waitlist_length: countOf(model, s, "WAITLISTED"),
              timezone: "UTC",
              booking_opens_at: null,
              booking_closes_at: null,
              cancellable_until: slot.startTime,
            },
          ],
    ),
  );
}

/** Each user's GET /bookings: their entries by start time, with each waiter's position and each hold's end. */
async function expectCalendarsMatchModel({ model, users, categoryId }: World) {
  const calendars = await Promise.all(users.map((user) => api("GET", "/bookings", { token: user.token })));
  for (const [u, calendar] of calendars.entries()) {
    expect(calendar.status).toBe(200);
    const expected = model.bookings
      .filter((b) => b.user === u)
      .sort((a, b) => a.slot - b.slot || a.id - b.id)
      .map((b) => {
        const slot = model.slots[b.slot];
        const extra = b.status === "WAITLISTED" ? { position: positionOf(model, b) } : b.status === "HELD" ? { expires_at: expect.any(String) } : {};
        const times = { category_id: categoryId, start_time: slot.startTime, end_time: slot.endTime, cancellable_until: slot.startTime };
        return { id: b.id, user_id: users[u].id, time_slot_id: slot.id, status: b.status, rescheduled_to: null, ...times, ...extra };
      });
    expect(calendar.body, `GET /bookings of user ${users[u].id}`).toEqual(expected);
  }
}

const settings = propertyRunSettings(200);

describe("model: concurrent batches of bookings, holds, waitlist joins and leaves, confirmations, expiries, capacity changes and deletions", () => {
  it(
    "every response is one some serialization allows, no 5xx, promotions are fair, and D1, the slot objects and the API always agree with the model",
    async () => {
      const started = Date.now();
      try {
        await fc.assert(
          fc.asyncProperty(scenario, async ({ capacities, batches }) => {
            stats.scenarios += 1;
            const world = await newWorld(capacities);
            for (const ops of batches) {
              const outcomes = await Promise.all(ops.map((op) => send(world, op)));
              stats.operations += outcomes.length;
              for (const { operation, response } of outcomes) {
                const kind = operation.kind === "book" ? operation.mode : operation.kind;
                stats.kinds[kind] = (stats.kinds[kind] ?? 0) + 1;
                if (response) stats.statuses[response.status] = (stats.statuses[response.status] ?? 0) + 1;
              }
              expectPossible(world, outcomes);
              const observed = await observe(world);
              world.model = applyBatch(world.model, outcomes, observed);
              expectWorldMatchesModel(world, observed);
            }
            await expectCalendarsMatchModel(world);
          }),
          settings,
        );
      } finally {
        const list = (counts: Record<string | number, number>) =>
          Object.entries(counts)
            .map(([key, n]) => `${key}×${n}`)
            .join(" ");
        const errors = Object.entries(stats.statuses).reduce((sum, [status, n]) => sum + (Number(status) >= 500 ? n : 0), 0);
        console.log(
          `model: seed ${settings.seed}, ${stats.scenarios} scenarios, ${stats.operations} operations (${list(stats.kinds)}); ` +
            `responses ${list(stats.statuses)}; ${stats.promotions} promotions, ${stats.expiries} holds expired; ${errors} × 5xx; ` +
            `${((Date.now() - started) / 1000).toFixed(1)} s`,
        );
      }
    },
    // About a second per scenario on a busy 2-core machine, with room to shrink a failure.
    Math.max(600_000, settings.numRuns * 3_000),
  );
});
