import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Policy } from "../src/categories/policy";
import { book, cancel, hold, joinWaitlist } from "./support/bookings";
import { api, errorOf, statusCounts } from "./support/client";
import { toUtcIso } from "../src/db/time";
import { slotObject } from "../src/objects/stubs";
import type { SlotView } from "../src/views/slot";
import { createSlot, expectConsistent, moveSlotInD1, slotCounts, slotEntries } from "./support/slots";
import { createUser, createUsers, uniqueName } from "./support/users";

// Issue 21: a category's booking policy, enforced in D1 by the statements that add and cancel entries.

/** A new category with `policy`, created by a new admin through the API. */
async function categoryWith(policy: Partial<Policy>): Promise<number> {
  const admin = await createUser("ADMIN");
  const { status, body } = await api<{ id: number }>("POST", "/admin/categories", { token: admin.token, body: { name: uniqueName("Policy"), ...policy } });
  expect(status).toBe(201);
  return body.id;
}

describe("max_active_per_user", () => {
  it("20 parallel bookings by one user across 20 slots with a limit of 3: exactly 3 × 201 and 17 × 409 booking_limit_reached", async () => {
    const categoryId = await categoryWith({ max_active_per_user: 3 });
    const slots = await Promise.all(Array.from({ length: 20 }, (_, index) => createSlot({ categoryId, startsInHours: 24 + index })));
    const user = await createUser();
    const responses = await Promise.all(slots.map((slotId) => book(user, slotId)));
    expect(statusCounts(responses)).toEqual({ 201: 3, 409: 17 });
    expect(new Set(responses.filter((response) => response.status === 409).map((response) => response.body.code))).toEqual(new Set(["booking_limit_reached"]));
    const booked = await Promise.all(slots.map(async (slotId) => (await slotCounts(slotId)).booked_rows));
    expect(booked.reduce((sum, rows) => sum + rows, 0)).toBe(3);
  });

  it("counts a waitlist place, and frees the limit when an entry is cancelled", async () => {
    const categoryId = await categoryWith({ max_active_per_user: 1 });
    const full = await createSlot({ categoryId, capacity: 1 });
    const other = await createSlot({ categoryId });
    expect((await book(await createUser(), full)).status).toBe(201);
    const user = await createUser();
    const waiting = await joinWaitlist(user, full);
    expect(waiting.status).toBe(202);
    expect(errorOf(await book(user, other))).toEqual({ status: 409, code: "booking_limit_reached" });
    expect((await cancel(user, waiting.body.id)).status).toBe(200);
    expect((await book(user, other)).status).toBe(201);
  });
});

describe("max_active_per_user in a move and a promotion", () => {
  const reschedule = (user: { token: string }, bookingId: number, slotId: number) =>
    api<{ id: number }>("POST", `/bookings/${bookingId}/reschedule`, { token: user.token, body: { time_slot_id: slotId } });

  it("a move inside the category at its limit is allowed (the entry moved does not count twice); a move into a category at its limit is 409 booking_limit_reached", async () => {
    const limited = await categoryWith({ max_active_per_user: 1 });
    const [from, to] = [await createSlot({ categoryId: limited }), await createSlot({ categoryId: limited, startsInHours: 30 })];
    const elsewhere = await createSlot({ categoryId: await categoryWith({}) });
    const user = await createUser();
    const booked = await book(user, from);
    expect((await reschedule(user, booked.body.id, to)).status).toBe(200);
    const other = await book(user, elsewhere);
    expect(other.status).toBe(201);
    expect(errorOf(await reschedule(user, other.body.id, from))).toEqual({ status: 409, code: "booking_limit_reached" });
    expect((await slotCounts(elsewhere)).booked_rows).toBe(1);
    expect((await slotCounts(from)).booked_rows).toBe(0);
  });

  it("a move follows the deadline of the booking's slot (409 cancellation_closed, for an admin too) and the window of the target (409 booking_not_open); the booking stays", async () => {
    const user = await createUser();
    const late = await createSlot({ categoryId: await categoryWith({ cancel_until_minutes_before: 12 * 60 }), startsInHours: 6 });
    const notOpen = await createSlot({ categoryId: await categoryWith({ booking_opens_hours_before: 24 }), startsInHours: 48 });
    const free = await createSlot({ categoryId: await categoryWith({}), startsInHours: 30 });
    const stuck = await book(user, late);
    expect(errorOf(await reschedule(user, stuck.body.id, free))).toEqual({ status: 409, code: "cancellation_closed" });
    expect(errorOf(await reschedule(await createUser("ADMIN"), stuck.body.id, free))).toEqual({ status: 409, code: "cancellation_closed" });
    const movable = await book(user, free);
    expect(errorOf(await reschedule(user, movable.body.id, notOpen))).toEqual({ status: 409, code: "booking_not_open" });
    expect([(await slotCounts(late)).booked_rows, (await slotCounts(free)).booked_rows, (await slotCounts(notOpen)).booked_rows]).toEqual([1, 1, 0]);
  });

  it("a waiter at the limit is promoted: the waitlist place already counted, so the promotion takes no second entry", async () => {
    const categoryId = await categoryWith({ max_active_per_user: 1 });
    const slotId = await createSlot({ categoryId, capacity: 1 });
    const owner = await createUser();
    const waiter = await createUser();
    const booking = await book(owner, slotId);
    expect((await joinWaitlist(waiter, slotId)).status).toBe(202);
    expect((await cancel(owner, booking.body.id)).status).toBe(200);
    expect(await slotEntries(slotId)).toMatchObject({ booked_rows: 1, waiting_rows: 0 });
  });
});

describe("booking window", () => {
  it("before booking_opens_at: 409 booking_not_open with opens_at and a Retry-After, for a booking and a waitlist join", async () => {
    const categoryId = await categoryWith({ booking_opens_hours_before: 24 });
    const slotId = await createSlot({ categoryId, startsInHours: 48 });
    const user = await createUser();
    const refused = await book(user, slotId);
    expect(errorOf(refused)).toEqual({ status: 409, code: "booking_not_open" });
    const opensAt = Date.parse(refused.body.opens_at!);
    expect(Math.abs(opensAt - (Date.now() + 24 * 3_600_000))).toBeLessThan(120_000);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(23 * 3600);
    expect(errorOf(await joinWaitlist(user, slotId))).toEqual({ status: 409, code: "booking_not_open" });
    expect((await slotCounts(slotId)).booked_rows).toBe(0);
  });

  it("after booking_closes_at: 409 booking_closed, for a booking, a waitlist join and a hold, and nothing is written", async () => {
    const categoryId = await categoryWith({ booking_closes_minutes_before: 120 });
    const slotId = await createSlot({ categoryId, startsInHours: 1 });
    const user = await createUser();
    expect(errorOf(await book(user, slotId))).toEqual({ status: 409, code: "booking_closed" });
    expect(errorOf(await joinWaitlist(user, slotId))).toEqual({ status: 409, code: "booking_closed" });
    expect(errorOf(await hold(user, slotId))).toEqual({ status: 409, code: "booking_closed" });
    expect(await slotEntries(slotId)).toMatchObject({ booked_rows: 0, held_rows: 0, waiting_rows: 0 });
  });

  it("a full slot past booking_closes_at answers booking_closed, not slot_full, though its object knows it is full", async () => {
    const categoryId = await categoryWith({ booking_closes_minutes_before: 120 });
    const slotId = await createSlot({ categoryId, capacity: 1, startsInHours: 5 });
    expect((await book(await createUser(), slotId)).status).toBe(201);
    expect(errorOf(await book(await createUser(), slotId))).toEqual({ status: 409, code: "slot_full" });
    const admin = await createUser("ADMIN");
    const start = Date.now() + 3_600_000;
    const moved = await api("PUT", `/admin/slots/${slotId}`, { token: admin.token, body: { start_time: toUtcIso(new Date(start)), end_time: toUtcIso(new Date(start + 3_600_000)) } });
    expect(moved.status).toBe(200);
    expect(errorOf(await book(await createUser(), slotId))).toEqual({ status: 409, code: "booking_closed" });
  });

  it("after booking_closes_at a freed place is not given to a waiter: the waiter keeps waiting (until the cron ends the waitlist)", async () => {
    const categoryId = await categoryWith({ booking_closes_minutes_before: 120 });
    const slotId = await createSlot({ categoryId, capacity: 1, startsInHours: 5 });
    const [owner, waiter] = [await createUser(), await createUser()];
    const booking = await book(owner, slotId);
    expect(booking.status).toBe(201);
    expect((await joinWaitlist(waiter, slotId)).status).toBe(202);
    await moveSlotInD1(slotId, 1);
    expect((await cancel(owner, booking.body.id)).status).toBe(200);
    expect(await slotEntries(slotId)).toMatchObject({ booked_rows: 0, waiting_rows: 1, booked_count: 0, waitlist_length: 1 });
  });

  it("refuses a policy that closes booking before it opens with 422 booking_window_empty", async () => {
    const admin = await createUser("ADMIN");
    const response = await api("POST", "/admin/categories", {
      token: admin.token,
      body: { name: uniqueName("Empty"), booking_opens_hours_before: 1, booking_closes_minutes_before: 60 },
    });
    expect(errorOf(response)).toEqual({ status: 422, code: "booking_window_empty" });
  });
});

describe("cancel_until_minutes_before", () => {
  it("after cancellable_until the owner's cancel is 409 cancellation_closed and the place stays; an admin may still cancel it", async () => {
    const categoryId = await categoryWith({ cancel_until_minutes_before: 12 * 60 });
    const slotId = await createSlot({ categoryId, startsInHours: 6 });
    const user = await createUser();
    const booking = await book(user, slotId);
    expect(booking.status).toBe(201);
    expect(errorOf(await cancel(user, booking.body.id))).toEqual({ status: 409, code: "cancellation_closed" });
    expect((await slotCounts(slotId)).booked_rows).toBe(1);
    expect((await cancel(await createUser("ADMIN"), booking.body.id)).status).toBe(200);
    expect((await slotCounts(slotId)).booked_rows).toBe(0);
  });
});

describe("a fair opening", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("500 users on a slot of capacity 20 in the first second after booking_opens_at: exactly 20 succeed, the first 20 in arrival order; before it, none", async () => {
    const categoryId = await categoryWith({ booking_opens_hours_before: 24 });
    const slotId = await createSlot({ categoryId, capacity: 20, startsInHours: 48 });
    const opensAt = Date.parse((await api<SlotView>("GET", `/slots/${slotId}`)).body.booking_opens_at!);
    const users = await createUsers(500);
    const stub = slotObject(env, slotId);
    // The clock moved, not slept: the object reads the same (faked) Date as the test.
    vi.useFakeTimers({ toFake: ["Date"], now: opensAt - 1_000 });
    const early = await Promise.all(users.slice(0, 50).map((user) => stub.book(slotId, user.id, {})));
    expect(early.map((outcome) => (outcome.ok ? "ok" : outcome.code))).toEqual(Array(50).fill("booking_not_open"));
    vi.setSystemTime(opensAt + 500);
    // Calls on one stub arrive in the order they are made.
    const outcomes = await Promise.all(users.map((user) => stub.book(slotId, user.id, {})));
    expect(outcomes.slice(0, 20).map((outcome) => outcome.ok)).toEqual(Array(20).fill(true));
    expect(outcomes.slice(20).map((outcome) => (outcome.ok ? "ok" : outcome.code))).toEqual(Array(480).fill("slot_full"));
    vi.useRealTimers();
    expect(await slotCounts(slotId)).toEqual({ max_capacity: 20, booked_count: 20, booked_rows: 20 });
    await expectConsistent(slotId);
  });
});
