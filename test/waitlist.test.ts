import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ErrorBody } from "../src/errors/catalogue";
import type { SlotView } from "../src/views/slot";
import { api, statusCounts } from "./support/client";
import { book, cancel, hold, joinWaitlist } from "./support/bookings";
import { createSlot, expectConsistent, slotEntries, waitlistOf } from "./support/slots";
import { createUser, createUsers, type TestUser } from "./support/users";

/** A slot of `capacity` places, all booked, and `waiting` users on its waitlist (in that order). */
async function fullSlotWithWaiters(capacity: number, waiting: number) {
  const slotId = await createSlot({ capacity });
  const holders = await createUsers(capacity);
  const bookings = [];
  for (const holder of holders) bookings.push((await book(holder, slotId)).body);
  const waiters = waiting > 0 ? await createUsers(waiting) : [];
  const entries = [];
  for (const waiter of waiters) {
    const joined = await joinWaitlist(waiter, slotId);
    expect(joined.status).toBe(202);
    entries.push(joined.body);
  }
  return { slotId, holders, bookings, waiters, entries };
}

const statusOf = async (bookingId: number) =>
  (await env.DB.prepare("SELECT status FROM bookings WHERE id = ?").bind(bookingId).first<{ status: string }>())!.status;

const listedBookings = async (user: TestUser) => (await api<Record<string, unknown>[]>("GET", "/bookings", { token: user.token })).body;

const admin = await createUser("ADMIN");
const setCapacity = (slotId: number, maxCapacity: number) =>
  api<Partial<SlotView & ErrorBody>>("PUT", `/admin/slots/${slotId}`, { token: admin.token, body: { max_capacity: maxCapacity } });

describe("joining", () => {
  it("on a full slot, waitlist: true answers 202 WAITLISTED with the position; without it, 409 slot_full as before", async () => {
    const { slotId } = await fullSlotWithWaiters(1, 0);
    const [late, later] = await createUsers(2);
    const refused = await book(late, slotId);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe("slot_full");
    const joined = await joinWaitlist(late, slotId);
    expect(joined.status).toBe(202);
    expect(joined.body).toEqual({ id: expect.any(Number), user_id: late.id, time_slot_id: slotId, status: "WAITLISTED", position: 1 });
    expect((await joinWaitlist(later, slotId)).body.position).toBe(2);
    expect(await expectConsistent(slotId)).toMatchObject({ booked_rows: 1 });
    expect(await slotEntries(slotId)).toMatchObject({ waitlist_length: 2 });
  });

  it("on a slot with room, waitlist: true books as usual: 201 BOOKED, no position", async () => {
    const slotId = await createSlot({ capacity: 2 });
    const user = await createUser();
    const booked = await joinWaitlist(user, slotId);
    expect(booked.status).toBe(201);
    expect(booked.body).toEqual({ id: expect.any(Number), user_id: user.id, time_slot_id: slotId, status: "BOOKED" });
  });

  it("a second live entry on the same slot is 409 already_booked: booked, held or waiting", async () => {
    const { slotId, holders, waiters } = await fullSlotWithWaiters(1, 1);
    expect((await joinWaitlist(holders[0], slotId)).body.code).toBe("already_booked");
    expect((await joinWaitlist(waiters[0], slotId)).body.code).toBe("already_booked");
    const roomy = await createSlot({ capacity: 3 });
    const holder = await createUser();
    expect((await hold(holder, roomy)).status).toBe(201);
    expect((await book(holder, roomy)).body.code).toBe("already_booked");
    expect((await joinWaitlist(holder, roomy)).body.code).toBe("already_booked");
    expect(await slotEntries(roomy)).toMatchObject({ booked_rows: 0, held_rows: 1 });
  });

  it("allows 1,000 waiters, then answers 409 waitlist_full; D1 refuses the 1,001st even behind the object's back", async () => {
    const { slotId } = await fullSlotWithWaiters(1, 0);
    const users = await createUsers(1_002);
    // 999 waiters written straight to D1 (the triggers count them), then two through the API.
    await env.DB.batch(
      users.slice(0, 999).map((user) =>
        env.DB.prepare("INSERT INTO bookings (user_id, time_slot_id, status, created_at) VALUES (?, ?, 'WAITLISTED', 'now')").bind(user.id, slotId),
      ),
    );
    const last = await joinWaitlist(users[999], slotId);
    expect(last.status).toBe(202);
    expect(last.body.position).toBe(1_000);
    const refused = await joinWaitlist(users[1_000], slotId);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe("waitlist_full");
    const bypass = env.DB.prepare("INSERT INTO bookings (user_id, time_slot_id, status, created_at) VALUES (?, ?, 'WAITLISTED', 'now')");
    await expect(bypass.bind(users[1_001].id, slotId).run()).rejects.toThrow(/CHECK constraint failed/);
    expect(await expectConsistent(slotId)).toMatchObject({ booked_rows: 1 });
    expect(await slotEntries(slotId)).toMatchObject({ waitlist_length: 1_000 });
  });

  it("an Idempotency-Key replays the first 202 with the same position, without joining twice", async () => {
    const { slotId } = await fullSlotWithWaiters(1, 1);
    const user = await createUser();
    const key = { "Idempotency-Key": `join-${slotId}` };
    const first = await joinWaitlist(user, slotId, key);
    const again = await joinWaitlist(user, slotId, key);
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    expect(first.body.position).toBe(2);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await waitlistOf(slotId)).toHaveLength(2);
  });
});

describe("GET /bookings", () => {
  it("shows each entry's status, and for waiters their position, which moves up as others leave or are promoted", async () => {
    const { slotId, holders, bookings, waiters, entries } = await fullSlotWithWaiters(1, 3);
    const entryOf = async (user: TestUser) => (await listedBookings(user)).find((b) => b.time_slot_id === slotId);
    expect(await entryOf(waiters[2])).toMatchObject({ id: entries[2].id, status: "WAITLISTED", position: 3 });
    expect((await cancel(waiters[1], entries[1].id)).status).toBe(200);
    expect(await entryOf(waiters[2])).toMatchObject({ status: "WAITLISTED", position: 2 });
    await cancel(holders[0], bookings[0].id);
    const promoted = await entryOf(waiters[0]);
    expect(promoted).toMatchObject({ status: "BOOKED" });
    expect(promoted).not.toHaveProperty("position");
    expect(await entryOf(waiters[2])).toMatchObject({ status: "WAITLISTED", position: 1 });
    expect(await entryOf(waiters[1])).toMatchObject({ status: "CANCELLED" });
    expect(await entryOf(waiters[1])).not.toHaveProperty("position");
  });
});

describe("promotion", () => {
  it("a cancellation gives the place to the earliest waiter at once: the slot stays full", async () => {
    const { slotId, holders, bookings, entries } = await fullSlotWithWaiters(2, 3);
    expect((await cancel(holders[1], bookings[1].id)).status).toBe(200);
    expect(await statusOf(entries[0].id)).toBe("BOOKED");
    expect(await waitlistOf(slotId)).toEqual([entries[1].id, entries[2].id]);
    expect(await expectConsistent(slotId)).toMatchObject({ booked_rows: 2 });
  });

  it("a waiter leaving frees no place and promotes no one; those behind move up", async () => {
    const { slotId, waiters, entries } = await fullSlotWithWaiters(1, 3);
    expect((await cancel(waiters[0], entries[0].id)).status).toBe(200);
    expect(await waitlistOf(slotId)).toEqual([entries[1].id, entries[2].id]);
    expect(await expectConsistent(slotId)).toMatchObject({ booked_rows: 1 });
  });

  it("cancellation and promotion are one D1 transaction: if the promotion fails, the cancellation is undone too", async () => {
    const { slotId, holders, bookings, entries } = await fullSlotWithWaiters(1, 1);
    await env.DB.prepare(
      `CREATE TRIGGER injected_promotion_failure BEFORE UPDATE OF status ON bookings
       WHEN OLD.status = 'WAITLISTED' AND NEW.status = 'BOOKED' BEGIN SELECT RAISE(ABORT, 'injected storage failure'); END`,
    ).run();
    try {
      expect((await cancel(holders[0], bookings[0].id)).status).toBe(503);
    } finally {
      await env.DB.prepare("DROP TRIGGER injected_promotion_failure").run();
    }
    expect(await statusOf(bookings[0].id)).toBe("BOOKED");
    expect(await statusOf(entries[0].id)).toBe("WAITLISTED");
    expect((await cancel(holders[0], bookings[0].id)).status).toBe(200);
    expect(await statusOf(entries[0].id)).toBe("BOOKED");
    await expectConsistent(slotId);
  });

  it("a capacity increase of n promotes the first n waiters, in order, and the response shows it", async () => {
    const { slotId, entries } = await fullSlotWithWaiters(2, 5);
    const raised = await setCapacity(slotId, 5);
    expect(raised.status).toBe(200);
    expect(raised.body).toMatchObject({ max_capacity: 5, available_spots: 0, waitlist_length: 2 });
    expect(await Promise.all(entries.map((e) => statusOf(e.id)))).toEqual(["BOOKED", "BOOKED", "BOOKED", "WAITLISTED", "WAITLISTED"]);
    // More places than waiters: everyone is promoted and the rest stay free.
    expect((await setCapacity(slotId, 10)).body).toMatchObject({ available_spots: 3, waitlist_length: 0 });
    await expectConsistent(slotId);
  });

  it("a capacity decrease promotes no one, and may not drop below the booked and held places", async () => {
    const { slotId, holders, bookings, entries } = await fullSlotWithWaiters(3, 1);
    await cancel(holders[0], bookings[0].id); // promotes the waiter: 3 booked
    expect(await statusOf(entries[0].id)).toBe("BOOKED");
    await cancel(holders[1], bookings[1].id); // 2 booked, 1 free
    expect((await hold(await createUser(), slotId)).status).toBe(201); // 2 booked + 1 held
    const refused = await setCapacity(slotId, 2);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe("capacity_below_bookings");
    expect(refused.body.detail).toMatch(/\b3\b/);
    await expectConsistent(slotId);
  });

  it("deleting a slot cancels its waiters and holds too, and counts them in cancelled_bookings", async () => {
    const slotId = await createSlot({ capacity: 2 });
    const [booker, holder, waiter] = await createUsers(3);
    await book(booker, slotId);
    await hold(holder, slotId);
    expect((await joinWaitlist(waiter, slotId)).status).toBe(202);
    const deleted = await api("DELETE", `/admin/slots/${slotId}`, { token: admin.token });
    expect(deleted.body).toEqual({ message: "Slot deleted", cancelled_bookings: 3 });
    expect(await slotEntries(slotId)).toMatchObject({ booked_count: 0, held_count: 0, waitlist_length: 0, booked_rows: 0, held_rows: 0, waiting_rows: 0 });
    expect((await listedBookings(waiter)).find((b) => b.time_slot_id === slotId)).toMatchObject({ status: "CANCELLED" });
  });
});

describe("race: a cancellation and 50 newcomers at once while 3 users wait", () => {
  it.each([1, 2, 3, 4, 5])("round %i: the first waiter gets the place; every newcomer is 409 or 202, never 201", async () => {
    const { slotId, holders, bookings, entries } = await fullSlotWithWaiters(1, 3);
    const newcomers = await createUsers(50);
    // Half of them would take a waitlist place; the other half only a free place.
    const [cancelled, ...answers] = await Promise.all([
      cancel(holders[0], bookings[0].id),
      ...newcomers.map((user, i) => (i % 2 === 0 ? joinWaitlist(user, slotId) : book(user, slotId))),
    ]);
    expect(cancelled.status).toBe(200);
    expect(statusCounts(answers)).toEqual({ 202: 25, 409: 25 });
    for (const [i, answer] of answers.entries()) expect(answer.body.code ?? answer.body.status).toBe(i % 2 === 0 ? "WAITLISTED" : "slot_full");
    expect(await statusOf(entries[0].id)).toBe("BOOKED");
    // The line: the two remaining waiters, then the 25 newcomers in the order they joined.
    const line = await waitlistOf(slotId);
    const joined = answers.filter((a) => a.status === 202).sort((a, b) => a.body.id - b.body.id);
    expect(line).toEqual([entries[1].id, entries[2].id, ...joined.map((a) => a.body.id)]);
    // Each was told its place at the moment it joined: one further back if that was before the promotion.
    for (const [i, answer] of joined.entries()) expect([i + 3, i + 4]).toContain(answer.body.position);
    expect(await expectConsistent(slotId)).toMatchObject({ booked_rows: 1 });
  });
});
