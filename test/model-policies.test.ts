import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Policy } from "../src/categories/policy";
import type { BookingStatus } from "../src/db/schema";
import type { ErrorBody } from "../src/errors/catalogue";
import { toUtcIso } from "../src/db/time";
import { api, type ApiResponse } from "./support/client";
import { propertyRunSettings } from "./support/properties";
import { createSlot, expectConsistent } from "./support/slots";
import { createUser, createUsers, uniqueName, type TestUser } from "./support/users";

// Model-based test of the booking policies (issue 21) under concurrency. Each scenario makes a
// category with a random policy (each rule on or off), five slots of it whose starts put them in
// every phase the rules make (booking not open, open, open with cancelling closed, and booking
// closed though not started, with a booking and a waiter made before it closed), and four users;
// then fires batches of random operations at the Worker, each batch all at once: bookings, holds
// and waitlist joins, an owner's and an admin's cancellations, capacity changes. A batch may be
// serialized in any order, so each response is checked against what the rules allow of any
// order; after every batch D1 is read and the invariants checked:
//   - every new row is an acknowledged entry, and every acknowledged entry is a new row;
//   - no user holds more live entries in the category than max_active_per_user;
//   - no slot whose booking is not open, or has closed, gains an entry or promotes a waiter;
//   - an owner's cancellation of a booked place past cancellable_until is refused and changes nothing;
//   - booked + held <= max_capacity, one live entry per user and slot, GET /slots agrees, and no
//     place of a slot open for booking is free while someone waits (expectConsistent).
// The seed is printed; replay with VITE_FC_SEED=<seed> VITE_FC_PATH="<path>" npx vitest run test/model-policies.test.ts

const USERS = 4;
/** Hours from now to each slot's start; the last is made at 5 h, filled, then moved to 1 h. */
const STARTS = [48, 20, 30, 6, 1];
const CLOSED_SLOT = STARTS.length - 1;

type Operation =
  | { kind: "book"; mode: "book" | "waitlist" | "hold"; user: number; slot: number }
  | { kind: "cancel"; user: number; slot: number }
  | { kind: "adminCancel"; slot: number; pick: number }
  | { kind: "setCapacity"; slot: number; capacity: number };

const slotIndex = fc.nat(STARTS.length - 1);
const operation: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant("book" as const), mode: fc.constantFrom("book" as const, "waitlist" as const, "hold" as const), user: fc.nat(USERS - 1), slot: slotIndex }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("cancel" as const), user: fc.nat(USERS - 1), slot: slotIndex }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("adminCancel" as const), slot: slotIndex, pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("setCapacity" as const), slot: slotIndex, capacity: fc.integer({ min: 1, max: 4 }) }) },
);
const policy: fc.Arbitrary<Policy> = fc.record({
  booking_opens_hours_before: fc.constantFrom(null, 36),
  booking_closes_minutes_before: fc.constantFrom(null, 120),
  cancel_until_minutes_before: fc.constantFrom(null, 0, 12 * 60),
  max_active_per_user: fc.constantFrom(null, 1, 1, 2, 3),
});
const scenario = fc.record({
  policy,
  capacities: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: STARTS.length, maxLength: STARTS.length }),
  batches: fc.array(fc.array(operation, { minLength: 3, maxLength: 10 }), { minLength: 2, maxLength: 4 }),
});

type Row = { id: number; user_id: number; time_slot_id: number; status: BookingStatus };
type Phase = { notOpen: boolean; closed: boolean; cancelClosed: boolean };
type World = { admin: TestUser; users: TestUser[]; policy: Policy; slots: number[]; phases: Phase[]; rows: Row[] };
type Answer = Partial<{ id: number; status: BookingStatus } & ErrorBody>;
type Outcome = { operation: Operation; target?: Row; response: ApiResponse<Answer> };

const stats = { scenarios: 0, operations: 0, answers: {} as Record<string, number> };

async function rowsOf(slots: number[]): Promise<Row[]> {
  const { results } = await env.DB.prepare(`SELECT id, user_id, time_slot_id, status FROM bookings WHERE time_slot_id IN (${slots.map(Number).join(", ")}) ORDER BY id`).all<Row>();
  return results;
}

async function newWorld(policyGiven: Policy, capacities: number[]): Promise<World> {
  const [admin, users, seeders] = await Promise.all([createUser("ADMIN"), createUsers(USERS), createUsers(2)]);
  const category = await api<{ id: number }>("POST", "/admin/categories", { token: admin.token, body: { name: uniqueName("Model policy"), ...policyGiven } });
  expect(category.status).toBe(201);
  const slots = await Promise.all(STARTS.map((hours, s) => createSlot({ categoryId: category.body.id, capacity: s === CLOSED_SLOT ? 1 : capacities[s], startsInHours: s === CLOSED_SLOT ? 5 : hours })));
  // The last slot: a booking and a waiter made while booking was open, then moved to start in 1 h.
  const closing = slots[CLOSED_SLOT];
  expect((await api("POST", "/bookings", { token: seeders[0].token, body: { time_slot_id: closing } })).status).toBe(201);
  expect((await api("POST", "/bookings", { token: seeders[1].token, body: { time_slot_id: closing, waitlist: true } })).status).toBe(202);
  const start = Date.now() + 3_600_000;
  const moved = await api("PUT", `/admin/slots/${closing}`, { token: admin.token, body: { start_time: toUtcIso(new Date(start)), end_time: toUtcIso(new Date(start + 3_600_000)) } });
  expect(moved.status).toBe(200);
  const now = Date.now();
  const phases = STARTS.map((hours): Phase => {
    const startAt = now + hours * 3_600_000;
    const before = (minutes: number | null) => minutes !== null && startAt - minutes * 60_000 <= now;
    return {
      notOpen: policyGiven.booking_opens_hours_before !== null && startAt - policyGiven.booking_opens_hours_before * 3_600_000 > now,
      closed: before(policyGiven.booking_closes_minutes_before),
      cancelClosed: before(policyGiven.cancel_until_minutes_before),
    };
  });
  return { admin, users, policy: policyGiven, slots, phases, rows: await rowsOf(slots) };
}

const live = (row: Row) => row.status !== "CANCELLED";

function send(world: World, op: Operation): Promise<Outcome> {
  const slotId = world.slots[op.slot];
  const onSlot = world.rows.filter((row) => live(row) && row.time_slot_id === slotId);
  const respond = (response: Promise<ApiResponse<Answer>>, target?: Row) => response.then((answer): Outcome => ({ operation: op, target, response: answer }));
  switch (op.kind) {
    case "book": {
      const asked = op.mode === "book" ? {} : { [op.mode]: true };
      return respond(api("POST", "/bookings", { token: world.users[op.user].token, body: { time_slot_id: slotId, ...asked } }));
    }
    case "cancel": {
      // The user's entry on the slot, else one of theirs on another slot of the category.
      const own = world.rows.filter((row) => live(row) && row.user_id === world.users[op.user].id);
      const target = own.find((row) => row.time_slot_id === slotId) ?? own[0];
      return respond(api("DELETE", `/bookings/${target?.id ?? 1_000_000_000}`, { token: world.users[op.user].token }), target);
    }
    case "adminCancel": {
      const target = onSlot[op.pick % Math.max(1, onSlot.length)];
      return respond(api("DELETE", `/bookings/${target?.id ?? 1_000_000_000}`, { token: world.admin.token }), target);
    }
    case "setCapacity":
      return respond(api("PUT", `/admin/slots/${slotId}`, { token: world.admin.token, body: { max_capacity: op.capacity } }));
  }
}

/** Each response is one the rules allow in some order of the batch. */
function expectAllowed(world: World, outcomes: Outcome[]) {
  const liveOf = (userId: number) => world.rows.filter((row) => live(row) && row.user_id === userId).length;
  for (const { operation: op, target, response } of outcomes) {
    const key = response.status >= 400 ? `${response.status} ${response.body.code}` : `${response.status}`;
    const what = `${JSON.stringify(op)} answered ${response.status} ${JSON.stringify(response.body)}`;
    stats.answers[`${op.kind} ${key}`] = (stats.answers[`${op.kind} ${key}`] ?? 0) + 1;
    expect(response.status, `no 5xx: ${what}`).toBeLessThan(500);
    const phase = world.phases[op.slot];
    if (op.kind === "book") {
      const userId = world.users[op.user].id;
      if (phase.notOpen) expect(key, `booking is not open: ${what}`).toBe("409 booking_not_open");
      else if (phase.closed) expect(key, `booking has closed: ${what}`).toBe("409 booking_closed");
      else expect(["201", "202", "409 slot_full", "409 already_booked", "409 booking_limit_reached", "409 hold_limit_reached", "409 hold_cooldown"], what).toContain(key);
      const limit = world.policy.max_active_per_user;
      const mine = outcomes.filter((o) => o.operation.kind === "book" && world.users[o.operation.user].id === userId);
      const freedMine = outcomes.filter((o) => o.target?.user_id === userId && o.response.status === 200).length;
      if (key === "409 booking_limit_reached") {
        expect(limit, what).not.toBeNull();
        const added = mine.filter((o) => o.response.status === 201 || o.response.status === 202).length;
        expect(liveOf(userId) + added, `at the limit at some moment: ${what}`).toBeGreaterThanOrEqual(limit!);
      }
      if ((key === "201" || key === "202") && limit !== null) expect(liveOf(userId) - freedMine, `below the limit at some moment: ${what}`).toBeLessThan(limit);
    }
    // Another cancellation of the same entry in the batch may have come first.
    const raced = target !== undefined && outcomes.some((o) => o.operation !== op && o.target?.id === target.id);
    if (op.kind === "cancel" && target) {
      const { cancelClosed } = world.phases[world.slots.indexOf(target.time_slot_id)];
      if (target.status === "BOOKED" && cancelClosed) expect(["409 cancellation_closed", ...(raced ? ["409 already_cancelled"] : [])], `the owner's deadline has passed: ${what}`).toContain(key);
      else if (target.status === "WAITLISTED" && cancelClosed) expect(["200", "409 cancellation_closed", ...(raced ? ["409 already_cancelled"] : [])], what).toContain(key);
      else expect(["200", ...(raced ? ["409 already_cancelled"] : [])], what).toContain(key);
    }
    if (op.kind === "adminCancel" && target) {
      expect(["200", ...(raced ? ["409 already_cancelled"] : [])], `an admin may cancel past the deadline: ${what}`).toContain(key);
    }
    if (op.kind === "setCapacity") expect(["200", "409 capacity_below_bookings"], what).toContain(key);
  }
}

/** D1 after the batch against the rows before it and the acknowledged answers. */
function expectInvariants(world: World, outcomes: Outcome[], after: Row[]) {
  const before = new Map(world.rows.map((row) => [row.id, row]));
  const acknowledged = outcomes.filter((o) => o.operation.kind === "book" && (o.response.status === 201 || o.response.status === 202)).map((o) => o.response.body.id!);
  expect(after.filter((row) => !before.has(row.id)).map((row) => row.id).sort(), "the new rows are exactly the acknowledged entries").toEqual([...acknowledged].sort());
  const limit = world.policy.max_active_per_user;
  if (limit !== null) {
    for (const user of world.users) {
      expect(after.filter((row) => live(row) && row.user_id === user.id).length, `user ${user.id} holds at most ${limit} live entries in the category`).toBeLessThanOrEqual(limit);
    }
  }
  for (const [s, phase] of world.phases.entries()) {
    if (!phase.notOpen && !phase.closed) continue;
    const ofSlot = after.filter((row) => row.time_slot_id === world.slots[s]);
    expect(ofSlot.filter((row) => !before.has(row.id)), `slot ${world.slots[s]} outside its booking window gains no entry`).toEqual([]);
    const promoted = ofSlot.filter((row) => row.status === "BOOKED" && before.get(row.id)?.status === "WAITLISTED");
    expect(promoted, `slot ${world.slots[s]} after booking closed promotes no waiter`).toEqual([]);
  }
  for (const { operation, target, response } of outcomes) {
    // Unless another cancellation of it (an admin's) succeeded in the batch.
    const cancelledElsewhere = outcomes.some((o) => o.target?.id === target?.id && o.response.status === 200);
    if (operation.kind === "cancel" && target && !cancelledElsewhere && response.status === 409 && response.body.code === "cancellation_closed") {
      expect(after.find((row) => row.id === target.id)?.status, `a refused cancellation leaves booking ${target.id} as it was`).not.toBe("CANCELLED");
    }
  }
}

const settings = propertyRunSettings(40);

describe("model: booking policies under concurrent batches", () => {
  it(
    "every answer is one the window, the deadline and the per-user limit allow in some order; D1 never breaks them",
    async () => {
      const started = Date.now();
      try {
        await fc.assert(
          fc.asyncProperty(scenario, async ({ policy: given, capacities, batches }) => {
            stats.scenarios += 1;
            const world = await newWorld(given, capacities);
            for (const ops of batches) {
              const outcomes = await Promise.all(ops.map((op) => send(world, op)));
              stats.operations += outcomes.length;
              expectAllowed(world, outcomes);
              const after = await rowsOf(world.slots);
              expectInvariants(world, outcomes, after);
              for (const slotId of world.slots) await expectConsistent(slotId);
              world.rows = after;
            }
          }),
          settings,
        );
      } finally {
        const answers = Object.entries(stats.answers).map(([key, n]) => `${key}×${n}`).join(", ");
        console.log(`model-policies: seed ${settings.seed}, ${stats.scenarios} scenarios, ${stats.operations} operations; ${answers}; ${((Date.now() - started) / 1000).toFixed(1)} s`);
      }
    },
    Math.max(300_000, settings.numRuns * 3_000),
  );
});
