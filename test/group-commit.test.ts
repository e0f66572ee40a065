import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { slotObject } from "../src/objects/stubs";
import { whileBookingWritesFail } from "./support/failures";
import { whileSlotD1IsDistant } from "./support/latency";
import { createSlot, expectConsistent, slotCounts } from "./support/slots";
import { createUsers } from "./support/users";

// Group commit (slots/booking-group.ts): bookings that gather while the slot's object waits on D1
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
});
