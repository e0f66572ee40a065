import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Outcome } from "../src/objects/outcome";
import { HOLD_LIMIT } from "../src/bookings/hold-rules";
import { slotObject } from "../src/objects/stubs";
import { whileBookingWritesFail } from "./support/failures";
import { type BatchCount, whileSlotD1IsDistant } from "./support/latency";
import { createSlot, expectConsistent, slotCounts } from "./support/slots";
import { createUsers } from "./support/users";

// Group commit (slots/group-commit.ts): changes that gather while the slot's object waits on D1
// share one batch, and each is answered as if it had run alone in arrival order.

const LATENCY_MS = 30;

describe("group commit of bookings", () => {
  it("300 users racing for 50 places with D1 30 ms away: exactly 50 × 201, to the first 50 in the object's arrival order", async () => {
    const users = await createUsers(300);
    const slotId = await createSlot({ capacity: 50 });
    const stub = slotObject(env, slotId);
    const outcomes = await whileSlotD1IsDistant(slotId, LATENCY_MS, () =>
      // Calls on one stub arrive in the order they are made.
      Promise.all(users.map((user) => stub.book(slotId, user.id, {}))),
    );
    expect(outcomes.slice(0, 50).map((outcome) => outcome.ok)).toEqual(Array(50).fill(true));
    expect(outcomes.slice(50).map((outcome) => (outcome.ok ? "ok" : outcome.code))).toEqual(Array(250).fill("slot_full"));
    expect(await slotCounts(slotId)).toEqual({ max_capacity: 50, booked_count: 50, booked_rows: 50 });
    await expectConsistent(slotId);
  });

  it("a D1 failure under a group of 40 acknowledges none of them (503), and each succeeds when retried", async () => {
    const users = await createUsers(41);
    const slotId = await createSlot({ capacity: 100 });
    const stub = slotObject(env, slotId);
    const bookAll = () => whileSlotD1IsDistant(slotId, LATENCY_MS, () => Promise.all(users.map((user) => stub.book(slotId, user.id, {}))));
    // The first request runs alone; the other 40 gather while it waits on D1 and share one batch.
    const failed = await whileBookingWritesFail("INSERT", bookAll);
    expect(failed.map((outcome) => (outcome.ok ? 201 : outcome.status))).toEqual(Array(41).fill(503));
    expect(await slotCounts(slotId)).toEqual({ max_capacity: 100, booked_count: 0, booked_rows: 0 });
    const retried = await bookAll();
    expect(retried.map((outcome) => outcome.ok)).toEqual(Array(41).fill(true));
    expect(await slotCounts(slotId)).toEqual({ max_capacity: 100, booked_count: 41, booked_rows: 41 });
  });

  it("a user twice in one group, and a user who booked before memory knew: already_booked, and no neighbour refused for it", async () => {
    const users = await createUsers(20);
    const slotId = await createSlot({ capacity: 30 });
    const stub = slotObject(env, slotId);
    await stub.book(slotId, users[0].id, {});
    // Behind the object's back: a booking its memory does not know.
    await env.DB.prepare("INSERT INTO bookings (user_id, time_slot_id, status, created_at) VALUES (?, ?, 'BOOKED', '2026-01-01T00:00:00Z')").bind(users[1].id, slotId).run();
    const requests = [...users, users[2]];
    const outcomes = await whileSlotD1IsDistant(slotId, LATENCY_MS, () => Promise.all(requests.map((user) => stub.book(slotId, user.id, {}))));
    const codes = outcomes.map((outcome) => (outcome.ok ? "ok" : outcome.code));
    expect(codes).toEqual(["already_booked", "already_booked", ...Array(18).fill("ok"), "already_booked"]);
    await expectConsistent(slotId);
  });

  it("an account erased while its booking waits in a group: that booking 401 invalid_token, none of its neighbours refused", async () => {
    const users = await createUsers(21);
    const slotId = await createSlot({ capacity: 30 });
    const stub = slotObject(env, slotId);
    // Erased in another isolate, whose token this object cannot know is gone: D1 refuses its entry.
    await env.DB.prepare("UPDATE users SET deleted_at = '2026-01-01T00:00:00Z' WHERE id = ?").bind(users[10].id).run();
    const outcomes = await whileSlotD1IsDistant(slotId, LATENCY_MS, () => Promise.all(users.map((user) => stub.book(slotId, user.id, {}))));
    const codes = outcomes.map((outcome) => (outcome.ok ? "ok" : outcome.code));
    expect(codes).toEqual([...Array(10).fill("ok"), "invalid_token", ...Array(10).fill("ok")]);
    await expectConsistent(slotId);
  });

  it("a hold beyond the user's limit in a group: that hold 409 hold_limit_reached, its neighbours booked", async () => {
    const users = await createUsers(11);
    const holder = users[5];
    for (let i = 0; i < HOLD_LIMIT; i++) {
      const elsewhere = await createSlot();
      expect((await slotObject(env, elsewhere).book(elsewhere, holder.id, { hold: true })).ok).toBe(true);
    }
    const slotId = await createSlot({ capacity: 30 });
    const stub = slotObject(env, slotId);
    const outcomes = await whileSlotD1IsDistant(slotId, LATENCY_MS, () =>
      Promise.all(users.map((user) => stub.book(slotId, user.id, user === holder ? { hold: true } : {}))),
    );
    const codes = outcomes.map((outcome) => (outcome.ok ? "ok" : outcome.code));
    expect(codes).toEqual([...Array(5).fill("ok"), "hold_limit_reached", ...Array(5).fill("ok")]);
    await expectConsistent(slotId);
  });
});

describe("group commit of mixed changes", () => {
  type Stub = ReturnType<typeof slotObject>;
  /** A request of the scenario, on one slot, given its bookings made before (by user index). */
  type Request = (stub: Stub, slotId: number, before: Map<number, number>) => Promise<Outcome<unknown>>;

  it("books, holds, waitlist joins, cancellations, confirmations and repeated keys that share batches answer exactly as the same requests one at a time", async () => {
    const users = await createUsers(20);
    const id = (u: number) => users[u].id;
    const bookingOf = (before: Map<number, number>, u: number) => before.get(u)!;
    // Keys are the user's across slots: each slot's run uses its own.
    const key = (slotId: number) => ({ key: `k-${slotId}`, request: `POST /bookings ${slotId}` });
    const requests: Request[] = [
      (stub, slot, before) => stub.cancel(slot, bookingOf(before, 0), id(0)), // promotes user 6
      (stub, slot) => stub.book(slot, id(10), {}), // full: slot_full
      (stub, slot) => stub.book(slot, id(11), { waitlist: true }),
      (stub, slot, before) => stub.confirm(slot, bookingOf(before, 4), id(4)),
      (stub, slot, before) => stub.cancel(slot, bookingOf(before, 5), id(5)), // a hold: promotes user 7
      (stub, slot) => stub.book(slot, id(12), { waitlist: true }, key(slot)),
      (stub, slot) => stub.book(slot, id(12), { waitlist: true }, key(slot)), // the same key: replayed
      (stub, slot, before) => stub.cancel(slot, bookingOf(before, 1), id(1)), // promotes user 11
      (stub, slot) => stub.book(slot, id(1), {}), // full again: slot_full
      (stub, slot) => stub.book(slot, id(1), { waitlist: true }),
      (stub, slot) => stub.book(slot, id(2), { waitlist: true }), // has a place: already_booked
      (stub, slot, before) => stub.cancel(slot, bookingOf(before, 0), id(0)), // already_cancelled
      (stub, slot, before) => stub.cancel(slot, bookingOf(before, 3), id(9)), // a stranger's: booking_not_found
      (stub, slot) => stub.book(slot, id(13), { hold: true }), // full: slot_full
      (stub, slot, before) => stub.cancel(slot, bookingOf(before, 2), id(2)), // promotes user 12
      (stub, slot) => stub.book(slot, id(14), { hold: true, waitlist: true }),
      (stub, slot, before) => stub.cancel(slot, bookingOf(before, 3), id(3)), // promotes user 1
      (stub, slot) => stub.book(slot, id(15), { hold: true }), // full: slot_full
    ];
    /** Users 0-3 booked, 4-5 holding, 6-7 waiting on a slot of 6 places: the bookings by user index. */
    async function prepare(): Promise<{ slotId: number; stub: Stub; before: Map<number, number> }> {
      const slotId = await createSlot({ capacity: 6 });
      const stub = slotObject(env, slotId);
      const before = new Map<number, number>();
      for (const [u, options] of [[0, {}], [1, {}], [2, {}], [3, {}], [4, { hold: true }], [5, { hold: true }], [6, { waitlist: true }], [7, { waitlist: true }]] as const) {
        const outcome = await stub.book(slotId, id(u), options);
        if (!outcome.ok) throw new Error(`user ${u}: ${outcome.code}`);
        before.set(u, outcome.value.id);
      }
      return { slotId, stub, before };
    }
    /** What an answer says, without the ids that differ between two slots. */
    const said = (outcome: Outcome<unknown>) => {
      if (!outcome.ok) return outcome.code;
      const value = outcome.value as { status?: string; position?: number; user_id?: number } | null;
      return value && { status: value.status, position: value.position, user: users.findIndex((user) => user.id === value.user_id), replayed: outcome.replayed };
    };
    const entries = async (slotId: number) =>
      (await env.DB.prepare("SELECT user_id, status FROM bookings WHERE time_slot_id = ? ORDER BY user_id").bind(slotId).all<{ user_id: number; status: string }>()).results.map(
        (row) => [users.findIndex((user) => user.id === row.user_id), row.status],
      );

    const alone = await prepare();
    const oneAtATime: Outcome<unknown>[] = [];
    for (const request of requests) oneAtATime.push(await request(alone.stub, alone.slotId, alone.before));

    const together = await prepare();
    const count: BatchCount = { batches: 0 };
    // Calls on one stub arrive in the order they are made: the first runs alone, the rest gather behind it.
    const grouped = await whileSlotD1IsDistant(together.slotId, LATENCY_MS, () => Promise.all(requests.map((request) => request(together.stub, together.slotId, together.before))), count);

    expect(grouped.map(said)).toEqual(oneAtATime.map(said));
    expect(oneAtATime.map(said)).toContain("already_booked");
    expect(await entries(together.slotId)).toEqual(await entries(alone.slotId));
    // The first alone, then one group: its key's recall, its batch, the record of its refusals (none here have a key).
    expect(count.batches).toBeLessThanOrEqual(4);
    await expectConsistent(together.slotId);
    await expectConsistent(alone.slotId);
  });
});
