import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ErrorBody } from "../src/http/errors";
import type { BookingView } from "../src/bookings/schemas";
import type { SlotView } from "../src/slots/schemas";
import { slotObject, type SlotState } from "../src/slots/slot-booking-object";
import { comparisonKey } from "../src/http/text";
import { api, createSlot, createUser, createUsers, FRESH, propertyRunSettings, slotCounts, type ApiResponse, type TestUser } from "./helpers";

// Model-based test of the booking rules under concurrency.
//
// Each scenario makes 6 users, an admin and 3 slots (in a category of its own), then fires
// batches of random operations at the Worker, each batch all at once (Promise.all). A batch may
// be serialized in any order, so the test does not predict its responses. It checks each
// response against what some order of the batch could produce, then rebuilds the reference model
// from the responses that succeeded and requires D1, every slot object and GET /slots to agree
// with the model exactly.
//
// The seed is random and printed; fast-check prints the seed and path of a failure. Replay:
//   VITE_FC_SEED=<seed> VITE_FC_PATH="<path>" npx vitest run test/model.test.ts
// (VITE_FC_RUNS=2000 for a longer soak.)

const USERS = 6;
const SLOTS = 3;
const MAX_CAPACITY = 4;
/** Ids no booking will reach in a test run, for cancelling "a booking that does not exist". */
const UNKNOWN_BOOKING_ID = 1_000_000_000;

type Operation =
  | { kind: "book"; user: number; slot: number }
  /**
   * Cancels the user's live booking on the slot if the model knows one, else `otherwise`: one of
   * the user's own bookings (live ones first, on any slot), any booking known, or an id never issued.
   */
  | { kind: "cancel"; user: number; slot: number; otherwise: { own: number } | { known: number } | { unknown: number } }
  | { kind: "setCapacity"; slot: number; capacity: number }
  | { kind: "deleteSlot"; slot: number };

const userIndex = fc.nat(USERS - 1);
const slotIndex = fc.nat(SLOTS - 1);
const operation: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("book" as const), user: userIndex, slot: slotIndex }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("cancel" as const),
      user: userIndex,
      slot: slotIndex,
      otherwise: fc.oneof(
        { weight: 3, arbitrary: fc.record({ own: fc.nat() }) },
        { weight: 1, arbitrary: fc.record({ known: fc.nat() }) },
        { weight: 1, arbitrary: fc.record({ unknown: fc.nat(1_000_000) }) },
      ),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("setCapacity" as const), slot: slotIndex, capacity: fc.integer({ min: 1, max: MAX_CAPACITY }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("deleteSlot" as const), slot: slotIndex }) },
);
const scenario = fc.record({
  capacities: fc.array(fc.integer({ min: 1, max: MAX_CAPACITY - 1 }), { minLength: SLOTS, maxLength: SLOTS }),
  batches: fc.array(fc.array(operation, { minLength: 3, maxLength: 10 }), { minLength: 2, maxLength: 4 }),
});

type ModelSlot = { id: number; capacity: number; deleted: boolean; startTime: string; endTime: string };
type ModelBooking = { id: number; user: number; slot: number; live: boolean };
/** The reference model: what the rules say the world holds. Bookings are kept in id order. */
type Model = { slots: ModelSlot[]; bookings: ModelBooking[] };

type Answer = Partial<BookingView & SlotView & ErrorBody & { message: string; cancelled_bookings: number }>;
/** One operation of a batch as sent: `target` is the booking id a cancel was aimed at. */
type Outcome = { operation: Operation; target?: number; response: ApiResponse<Answer> };

type World = {
  users: TestUser[];
  admin: TestUser;
  categoryId: number;
  model: Model;
};

const stats = { scenarios: 0, operations: 0, statuses: {} as Record<number, number> };

const liveBooking = (model: Model, userIndex: number, slotIndex: number) =>
  model.bookings.find((b) => b.live && b.user === userIndex && b.slot === slotIndex);
const liveCount = (model: Model, slotIndex: number) => model.bookings.filter((b) => b.live && b.slot === slotIndex).length;

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

/** Sends one operation; a cancel's target is chosen from the model as it was when the batch started. */
function send(world: World, op: Operation): Promise<Outcome> {
  const { users, admin, model } = world;
  const respond = (response: Promise<ApiResponse<Answer>>, target?: number) =>
    response.then((answer): Outcome => ({ operation: op, target, response: answer }));
  switch (op.kind) {
    case "book":
      return respond(api("POST", "/bookings", { token: users[op.user].token, body: { time_slot_id: model.slots[op.slot].id } }));
    case "cancel": {
      const held = liveBooking(model, op.user, op.slot);
      const own = model.bookings.filter((b) => b.user === op.user);
      const ownLive = own.filter((b) => b.live);
      const { otherwise } = op;
      const pick = (from: ModelBooking[], index: number) => (from.length > 0 ? from[index % from.length].id : UNKNOWN_BOOKING_ID);
      let target: number;
      if (held) target = held.id;
      else if ("own" in otherwise) target = pick(ownLive.length > 0 ? ownLive : own, otherwise.own);
      else if ("known" in otherwise) target = pick(model.bookings, otherwise.known);
      else target = UNKNOWN_BOOKING_ID + otherwise.unknown;
      return respond(api("DELETE", `/bookings/${target}`, { token: users[op.user].token }), target);
    }
    case "setCapacity":
      return respond(api("PUT", `/admin/slots/${model.slots[op.slot].id}`, { token: admin.token, body: { max_capacity: op.capacity } }));
    case "deleteSlot":
      return respond(api("DELETE", `/admin/slots/${model.slots[op.slot].id}`, { token: admin.token }));
  }
}

/** What a batch did to one slot, counted from its successful responses. */
function batchEffects(model: Model, outcomes: Outcome[], slotIndex: number) {
  const on = (kind: Operation["kind"], status: number) =>
    outcomes.filter(({ operation, response, target }) => {
      if (operation.kind !== kind || response.status !== status) return false;
      if (operation.kind === "cancel") return model.bookings.find((b) => b.id === target)?.slot === slotIndex;
      return operation.slot === slotIndex;
    });
  const liveBefore = liveCount(model, slotIndex);
  const booked = on("book", 201).length;
  const cancelled = on("cancel", 200).length;
  const capacities = on("setCapacity", 200).map(({ operation }) => (operation.kind === "setCapacity" ? operation.capacity : 0));
  const deletions = on("deleteSlot", 200).length;
  return {
    liveBefore,
    booked,
    capacities,
    deletions,
    /** Bounds on the slot's live bookings at any moment during the batch. */
    fewestLive: liveBefore - cancelled,
    mostLive: liveBefore + booked,
    /** The smallest and largest capacity the slot had at any moment during the batch. */
    smallestCapacity: Math.min(model.slots[slotIndex].capacity, ...capacities),
    largestCapacity: Math.max(model.slots[slotIndex].capacity, ...capacities),
    /** True if the slot was deleted before or during the batch. */
    goneAtSomePoint: model.slots[slotIndex].deleted || deletions > 0,
  };
}

function describeOutcome({ operation, target, response }: Outcome): string {
  const { kind, ...args } = operation;
  return `${kind}(${JSON.stringify(args)}${target === undefined ? "" : ` -> booking ${target}`}) answered ${response.status} ${JSON.stringify(response.body)}`;
}

/** Each response must be one that some serialization of the batch, applied to `model`, could give. */
function expectPossible(world: World, outcomes: Outcome[]) {
  const { model, users } = world;
  const effects = model.slots.map((_, s) => batchEffects(model, outcomes, s));
  for (const outcome of outcomes) {
    const { operation: op, response } = outcome;
    const { status, body } = response;
    const what = describeOutcome(outcome);
    expect(status, `no 5xx: ${what}`).toBeLessThan(500);
    if (status >= 400) expect(body, `errors are {detail, code}: ${what}`).toMatchObject({ detail: expect.any(String), code: expect.any(String) });
    const outcomeKey = status >= 400 ? `${status} ${body.code}` : `${status}`;

    switch (op.kind) {
      case "book": {
        const slot = model.slots[op.slot];
        const fx = effects[op.slot];
        const heldBefore = liveBooking(model, op.user, op.slot);
        const sameBookings = outcomes.filter((o) => o.operation.kind === "book" && o.operation.user === op.user && o.operation.slot === op.slot);
        const freedOwn = heldBefore !== undefined && outcomes.some((o) => o.target === heldBefore.id && o.response.status === 200);
        switch (outcomeKey) {
          case "201":
            expect(body, what).toEqual({ id: expect.any(Number), user_id: users[op.user].id, time_slot_id: slot.id, status: "BOOKED" });
            expect(slot.deleted, `a deleted slot takes no booking: ${what}`).toBe(false);
            expect(fx.booked, `a batch books no more places than were ever free: ${what}`).toBeLessThanOrEqual(fx.largestCapacity - fx.fewestLive);
            expect(
              sameBookings.filter((o) => o.response.status === 201).length,
              `a user holds at most one live booking per slot: ${what}`,
            ).toBeLessThanOrEqual((heldBefore ? 0 : 1) + (freedOwn ? 1 : 0));
            break;
          case "409 slot_full":
            expect(slot.deleted, what).toBe(false);
            expect(fx.mostLive, `slot_full only if the slot was full at some moment: ${what}`).toBeGreaterThanOrEqual(fx.smallestCapacity);
            break;
          case "409 already_booked":
            expect(heldBefore !== undefined || sameBookings.some((o) => o.response.status === 201), `already_booked only if held: ${what}`).toBe(true);
            break;
          case "404 slot_not_found":
            expect(fx.goneAtSomePoint, `slot_not_found only for a deleted slot: ${what}`).toBe(true);
            break;
          default:
            expect.unreachable(`unexpected answer to a booking: ${what}`);
        }
        break;
      }
      case "cancel": {
        const target = model.bookings.find((b) => b.id === outcome.target);
        const owned = target?.user === op.user;
        if (!target || !owned) {
          expect(outcomeKey, `someone else's or an unknown booking is 404: ${what}`).toBe("404 booking_not_found");
          break;
        }
        const otherCancelsOk = outcomes.filter((o) => o !== outcome && o.target === target.id && o.response.status === 200).length;
        switch (outcomeKey) {
          case "200":
            expect(target.live, `only a live booking can be cancelled: ${what}`).toBe(true);
            expect(otherCancelsOk, `a booking is cancelled once: ${what}`).toBe(0);
            break;
          case "409 already_cancelled":
            expect(!target.live || otherCancelsOk > 0 || effects[target.slot].deletions > 0, `already_cancelled only if it was: ${what}`).toBe(true);
            break;
          default:
            expect.unreachable(`unexpected answer to the owner's cancel: ${what}`);
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
            expect(op.capacity, `capacity is never set below the live bookings: ${what}`).toBeGreaterThanOrEqual(fx.fewestLive);
            expect(body.available_spots, `available_spots == max_capacity - booked: ${what}`).toBeGreaterThanOrEqual(
              Math.max(0, op.capacity - fx.mostLive),
            );
            expect(body.available_spots, what).toBeLessThanOrEqual(op.capacity - fx.fewestLive);
            break;
          case "409 capacity_below_bookings":
            expect(slot.deleted, what).toBe(false);
            expect(op.capacity, `capacity_below_bookings only if it was: ${what}`).toBeLessThan(fx.mostLive);
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
            expect(body.cancelled_bookings, `cancels exactly the live bookings: ${what}`).toBeGreaterThanOrEqual(fx.fewestLive);
            expect(body.cancelled_bookings, what).toBeLessThanOrEqual(fx.mostLive);
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
 * The model after the batch, from its successful responses. Only the final capacity of a slot
 * changed more than once in the batch depends on the order; it must be one of the values set,
 * and D1 says which.
 */
function applyBatch(model: Model, outcomes: Outcome[], observed: Observation): Model {
  const bookings = model.bookings.map((b) => ({ ...b }));
  const slots = model.slots.map((s) => ({ ...s }));
  for (const { operation: op, response, target } of outcomes) {
    if (op.kind === "book" && response.status === 201) bookings.push({ id: response.body.id!, user: op.user, slot: op.slot, live: true });
    if (op.kind === "cancel" && response.status === 200) bookings.find((b) => b.id === target)!.live = false;
    if (op.kind === "deleteSlot" && response.status === 200) slots[op.slot].deleted = true;
  }
  for (const [s, slot] of slots.entries()) {
    const { capacities: set } = batchEffects(model, outcomes, s);
    if (set.length === 1) slot.capacity = set[0];
    if (set.length > 1) {
      const final = observed.counts[s].max_capacity;
      expect(set, `slot ${slot.id} ends with one of the capacities set in the batch`).toContain(final);
      slot.capacity = final;
    }
    if (slot.deleted) for (const b of bookings) if (b.slot === s) b.live = false;
  }
  bookings.sort((a, b) => a.id - b.id);
  return { slots, bookings };
}

type BookingRow = { id: number; user_id: number; time_slot_id: number; status: string };

/** What the world holds after a batch, read all at once: D1, each slot object, GET /slots. */
type Observation = {
  counts: { max_capacity: number; booked_count: number; booked_rows: number }[];
  deletedIds: number[];
  rows: BookingRow[];
  objects: (SlotState | undefined)[];
  listed: ApiResponse<SlotView[]>;
};

async function observe({ model, users, categoryId }: World): Promise<Observation> {
  const slotIds = model.slots.map((s) => s.id);
  const userIds = users.map((u) => u.id);
  const marks = (values: number[]) => values.map(() => "?").join(", ");
  const [counts, deleted, rows, objects, listed] = await Promise.all([
    Promise.all(slotIds.map((id) => slotCounts(id))),
    env.DB.prepare(`SELECT id FROM time_slots WHERE id IN (${marks(slotIds)}) AND deleted_at IS NOT NULL ORDER BY id`)
      .bind(...slotIds)
      .all<{ id: number }>(),
    // Every booking row of these slots or these users: a row written anywhere else would show too.
    env.DB.prepare(
      `SELECT id, user_id, time_slot_id, status FROM bookings
        WHERE time_slot_id IN (${marks(slotIds)}) OR user_id IN (${marks(userIds)}) ORDER BY id`,
    )
      .bind(...slotIds, ...userIds)
      .all<BookingRow>(),
    Promise.all(slotIds.map((id) => slotObject(env, id).inspect())),
    api<SlotView[]>("GET", `/slots?categories=${categoryId}&limit=500`, { headers: FRESH }),
  ]);
  return { counts, deletedIds: deleted.results.map((r) => r.id), rows: rows.results, objects, listed };
}

/** Invariants 1 to 3 on the model, then D1, each slot object and GET /slots must equal the model. */
function expectWorldMatchesModel({ model, users, categoryId }: World, observed: Observation) {
  const userIds = users.map((u) => u.id);

  for (const [s, slot] of model.slots.entries()) {
    expect(liveCount(model, s), `slot ${slot.id}: never more live bookings than max_capacity`).toBeLessThanOrEqual(slot.capacity);
    for (const u of userIds.keys()) {
      const held = model.bookings.filter((b) => b.live && b.user === u && b.slot === s).length;
      expect(held, `user ${userIds[u]} holds at most one live booking on slot ${slot.id}`).toBeLessThanOrEqual(1);
    }
  }

  // (a) D1: the slot rows with their maintained counts, and every booking row of these slots or users.
  for (const [s, slot] of model.slots.entries()) {
    const live = liveCount(model, s);
    expect(observed.counts[s], `D1 slot ${slot.id}`).toEqual({ max_capacity: slot.capacity, booked_count: live, booked_rows: live });
  }
  expect(observed.deletedIds, "D1 marks exactly the deleted slots").toEqual(model.slots.filter((s) => s.deleted).map((s) => s.id));
  expect(observed.rows, "D1 holds exactly the model's bookings, nothing half-written").toEqual(
    model.bookings.map(
      (b): BookingRow => ({ id: b.id, user_id: userIds[b.user], time_slot_id: model.slots[b.slot].id, status: b.live ? "BOOKED" : "CANCELLED" }),
    ),
  );

  // (b) Each slot object, if it has loaded its slot, believes what D1 holds.
  for (const [s, slot] of model.slots.entries()) {
    const state = observed.objects[s];
    if (state === undefined) continue;
    expect(state, `slot object ${slot.id} believes ${JSON.stringify(state)}`).toEqual({
      startTime: slot.startTime,
      endTime: slot.endTime,
      maxCapacity: slot.capacity,
      bookedCount: liveCount(model, s),
      deleted: slot.deleted,
    });
  }

  // (c) GET /slots lists exactly the slots not deleted, with available_spots == max_capacity - booked.
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
              available_spots: slot.capacity - liveCount(model, s),
              timezone: "UTC",
            },
          ],
    ),
  );
}

describe("model: concurrent batches of bookings, cancellations, capacity changes and deletions", () => {
  it(
    "every response is one some serialization allows, no 5xx, and D1, the slot objects and GET /slots always agree with the model",
    async () => {
      const settings = propertyRunSettings(200);
      const started = Date.now();
      try {
        await fc.assert(
          fc.asyncProperty(scenario, async ({ capacities, batches }) => {
            stats.scenarios += 1;
            const world = await newWorld(capacities);
            for (const batch of batches) {
              const outcomes = await Promise.all(batch.map((op) => send(world, op)));
              stats.operations += outcomes.length;
              for (const { response } of outcomes) stats.statuses[response.status] = (stats.statuses[response.status] ?? 0) + 1;
              expectPossible(world, outcomes);
              const observed = await observe(world);
              world.model = applyBatch(world.model, outcomes, observed);
              expectWorldMatchesModel(world, observed);
            }
          }),
          settings,
        );
      } finally {
        const { 201: created = 0, 409: conflicts = 0 } = stats.statuses;
        const others = Object.entries(stats.statuses)
          .filter(([status]) => status !== "201" && status !== "409")
          .map(([status, n]) => `${status}×${n}`)
          .join(" ");
        const errors = Object.entries(stats.statuses).reduce((sum, [status, n]) => sum + (Number(status) >= 500 ? n : 0), 0);
        console.log(
          `model: seed ${settings.seed}, ${stats.scenarios} scenarios, ${stats.operations} operations, ${created} × 201, ` +
            `${conflicts} × 409, others: ${others || "none"}, ${errors} × 5xx, ${((Date.now() - started) / 1000).toFixed(1)} s`,
        );
      }
    },
    600_000,
  );
});
