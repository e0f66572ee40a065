import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { toUtcIso } from "../src/db/time";
import { HOLD_SECONDS } from "../src/bookings/schemas";
import { slotObject } from "../src/objects/stubs";
import { type SlotBookingObject } from "../src/slots/slot-booking-object";
import { alarmOf, book, cancel, confirm, expireHolds, hold, joinWaitlist, runAlarm } from "./support/bookings";
import { api } from "./support/client";
import { availableSpotsOf, createSlot, expectConsistent, slotEntries } from "./support/slots";
import { createUser, createUsers } from "./support/users";

const statusOf = async (bookingId: number) =>
  (await env.DB.prepare("SELECT status FROM bookings WHERE id = ?").bind(bookingId).first<{ status: string }>())!.status;

/** Resolves once `condition` holds, checking every 50 ms; fails after `timeoutMs`. */
async function eventually(condition: () => Promise<boolean>, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("holding", () => {
  it("hold: true answers 201 HELD with expires_at 5 minutes ahead, and the hold counts against capacity", async () => {
    const slotId = await createSlot({ capacity: 1 });
    const [holder, other] = await createUsers(2);
    const before = Date.now();
    const held = await hold(holder, slotId);
    expect(held.status).toBe(201);
    expect(held.body).toEqual({ id: expect.any(Number), user_id: holder.id, time_slot_id: slotId, status: "HELD", expires_at: expect.any(String) });
    const expiresAt = Date.parse(held.body.expires_at!);
    expect(expiresAt).toBeGreaterThanOrEqual(Date.parse(toUtcIso(new Date(before + HOLD_SECONDS.default * 1000))));
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + HOLD_SECONDS.default * 1000 + 1_000);
    expect(await availableSpotsOf(slotId)).toBe(0);
    expect((await book(other, slotId)).body.code).toBe("slot_full");
    expect(await slotEntries(slotId)).toMatchObject({ booked_count: 0, held_count: 1 });
    await expectConsistent(slotId);
  });

  it("sets the object's alarm for the hold's end; a later hold leaves the one alarm where it is", async () => {
    const slotId = await createSlot({ capacity: 3 });
    const [first, second] = await createUsers(2);
    const held = await hold(first, slotId);
    expect(await alarmOf(slotId)).toBe(Date.parse(held.body.expires_at!));
    await hold(second, slotId);
    expect(await alarmOf(slotId)).toBe(Date.parse(held.body.expires_at!));
  });

  it("on a full slot, hold and waitlist together join the waitlist (202)", async () => {
    const slotId = await createSlot({ capacity: 1 });
    const [booker, late] = await createUsers(2);
    await book(booker, slotId);
    const joined = await api("POST", "/bookings", { token: late.token, body: { time_slot_id: slotId, hold: true, waitlist: true } });
    expect(joined.status).toBe(202);
    expect(joined.body).toMatchObject({ status: "WAITLISTED", position: 1 });
  });

  it("D1 refuses a hold beyond capacity even behind the object's back", async () => {
    const slotId = await createSlot({ capacity: 1 });
    const [booker, holder] = await createUsers(2);
    await book(booker, slotId);
    const insert = env.DB.prepare("INSERT INTO bookings (user_id, time_slot_id, status, created_at, expires_at) VALUES (?, ?, 'HELD', 'now', ?)");
    await expect(insert.bind(holder.id, slotId, "2999-01-01T00:00:00Z").run()).rejects.toThrow(/CHECK constraint failed/);
    await expect(insert.bind(holder.id, slotId, null).run()).rejects.toThrow(/CHECK constraint failed/);
    await expectConsistent(slotId);
  });
});

describe("confirming", () => {
  it("turns the hold into a booking (200 BOOKED); confirming again answers the booking unchanged", async () => {
    const slotId = await createSlot({ capacity: 2 });
    const holder = await createUser();
    const held = await hold(holder, slotId);
    const confirmed = await confirm(holder, held.body.id);
    expect(confirmed.status).toBe(200);
    expect(confirmed.body).toEqual({ id: held.body.id, user_id: holder.id, time_slot_id: slotId, status: "BOOKED" });
    expect(await confirm(holder, held.body.id)).toMatchObject({ status: 200, body: confirmed.body });
    expect(await slotEntries(slotId)).toMatchObject({ booked_count: 1, held_count: 0 });
    // A confirmed hold is a booking: the alarm leaves it alone.
    await expireHolds(slotId);
    await runAlarm(slotId);
    expect(await statusOf(held.body.id)).toBe("BOOKED");
    await expectConsistent(slotId);
  });

  it("is for the holder only: another user, or an admin, gets 404 booking_not_found", async () => {
    const slotId = await createSlot();
    const [holder, other] = await createUsers(2);
    const held = await hold(holder, slotId);
    expect((await confirm(other, held.body.id)).body.code).toBe("booking_not_found");
    expect((await confirm(await createUser("ADMIN"), held.body.id)).body.code).toBe("booking_not_found");
    expect((await confirm(holder, 1_000_000_000)).body.code).toBe("booking_not_found");
    expect(await statusOf(held.body.id)).toBe("HELD");
  });

  it("after the hold's end is 409 hold_expired, before and after the alarm has released it", async () => {
    const slotId = await createSlot({ capacity: 1 });
    const holder = await createUser();
    const held = await hold(holder, slotId);
    await expireHolds(slotId);
    const early = await confirm(holder, held.body.id);
    expect(early.status).toBe(409);
    expect(early.body.code).toBe("hold_expired");
    expect(await statusOf(held.body.id)).toBe("HELD");
    expect(await runAlarm(slotId)).toBe(true);
    expect(await statusOf(held.body.id)).toBe("CANCELLED");
    expect((await confirm(holder, held.body.id)).body.code).toBe("hold_expired");
    expect(await availableSpotsOf(slotId)).toBe(1);
    await expectConsistent(slotId);
  });

  it("a hold its holder cancelled is 409 already_cancelled; a waitlist place is 409 not_held", async () => {
    const slotId = await createSlot({ capacity: 1 });
    const [holder, waiter] = await createUsers(2);
    const held = await hold(holder, slotId);
    const joined = await joinWaitlist(waiter, slotId);
    expect((await confirm(waiter, joined.body.id)).body.code).toBe("not_held");
    expect((await cancel(holder, held.body.id)).status).toBe(200);
    expect((await confirm(holder, held.body.id)).body.code).toBe("already_cancelled");
    // The cancelled hold's place went to the waiter.
    expect(await statusOf(joined.body.id)).toBe("BOOKED");
    await expectConsistent(slotId);
  });
});

describe("the alarm", () => {
  it("fires by itself and releases expired holds, promoting the waiters, with no request to the slot", async () => {
    const slotId = await createSlot({ capacity: 1 });
    const [holder, waiter] = await createUsers(2);
    const held = await hold(holder, slotId);
    const joined = await joinWaitlist(waiter, slotId);
    await expireHolds(slotId);
    // The alarm is due in 5 minutes; bring it forward, as if they had passed.
    await runInDurableObject(slotObject(env, slotId), (_, state) => state.storage.setAlarm(Date.now() + 100));
    await eventually(async () => (await statusOf(joined.body.id)) === "BOOKED");
    expect(await statusOf(held.body.id)).toBe("CANCELLED");
    expect(await alarmOf(slotId)).toBeNull();
    expect(await expectConsistent(slotId)).toMatchObject({ booked_rows: 1 });
  });

  it("releases only the holds that have ended, and sets itself for the next one", async () => {
    const slotId = await createSlot({ capacity: 3 });
    const [first, second] = await createUsers(2);
    const early = await hold(first, slotId);
    const late = await hold(second, slotId);
    await expireHolds(slotId, [early.body.id]);
    expect(await runAlarm(slotId)).toBe(true);
    expect(await statusOf(early.body.id)).toBe("CANCELLED");
    expect(await statusOf(late.body.id)).toBe("HELD");
    expect(await alarmOf(slotId)).toBe(Date.parse(late.body.expires_at!));
    await expectConsistent(slotId);
  });

  it("promotes as many waiters as holds ended, in the order they joined", async () => {
    const slotId = await createSlot({ capacity: 2 });
    const users = await createUsers(5);
    await hold(users[0], slotId);
    await hold(users[1], slotId);
    const waiting = [];
    for (const user of users.slice(2)) waiting.push((await joinWaitlist(user, slotId)).body.id);
    await expireHolds(slotId);
    await runAlarm(slotId);
    expect(await Promise.all(waiting.map(statusOf))).toEqual(["BOOKED", "BOOKED", "WAITLISTED"]);
    await expectConsistent(slotId);
  });

  it("survives an eviction: the alarm is still set, and the fresh instance releases the hold from what D1 holds", async () => {
    const slotId = await createSlot({ capacity: 1 });
    const [holder, waiter] = await createUsers(2);
    const held = await hold(holder, slotId);
    const joined = await joinWaitlist(waiter, slotId);
    const stub = slotObject(env, slotId);
    await evictDurableObject(stub);
    expect(await runInDurableObject(stub, (instance: SlotBookingObject) => instance.inspect())).toBeUndefined();
    expect(await alarmOf(slotId)).toBe(Date.parse(held.body.expires_at!));
    await expireHolds(slotId);
    expect(await runAlarm(slotId)).toBe(true);
    expect(await statusOf(held.body.id)).toBe("CANCELLED");
    expect(await statusOf(joined.body.id)).toBe("BOOKED");
    await expectConsistent(slotId);
  });

  it("is set again when a restarted object finds live holds in D1 and no alarm", async () => {
    const slotId = await createSlot({ capacity: 2 });
    const held = await hold(await createUser(), slotId);
    const stub = slotObject(env, slotId);
    // As if the alarm had been lost: deleted, and the object restarted.
    await runInDurableObject(stub, (_, state) => state.storage.deleteAlarm());
    await evictDurableObject(stub);
    expect(await alarmOf(slotId)).toBeNull();
    expect((await book(await createUser(), slotId)).status).toBe(201);
    // The object loaded its slot, saw a hold and no alarm, and set one; it has run, and set the next for the hold's end.
    await eventually(async () => (await alarmOf(slotId)) === Date.parse(held.body.expires_at!));
    expect(await statusOf(held.body.id)).toBe("HELD");
  });

  it("tries again 10 s later when D1 fails, and then releases the hold", async () => {
    const slotId = await createSlot({ capacity: 1 });
    const held = await hold(await createUser(), slotId);
    await expireHolds(slotId);
    await env.DB.prepare(
      "CREATE TRIGGER injected_failure BEFORE UPDATE ON bookings BEGIN SELECT RAISE(ABORT, 'injected storage failure'); END",
    ).run();
    const failedAt = Date.now();
    try {
      await runAlarm(slotId);
    } finally {
      await env.DB.prepare("DROP TRIGGER injected_failure").run();
    }
    expect(await statusOf(held.body.id)).toBe("HELD");
    const retry = await alarmOf(slotId);
    expect(retry).toBeGreaterThanOrEqual(failedAt + 9_000);
    expect(retry).toBeLessThanOrEqual(Date.now() + 10_000);
    await runAlarm(slotId);
    expect(await statusOf(held.body.id)).toBe("CANCELLED");
    await expectConsistent(slotId);
  });

  it("does nothing for a deleted slot, whose holds the deletion already cancelled", async () => {
    const slotId = await createSlot({ capacity: 1 });
    const held = await hold(await createUser(), slotId);
    await api("DELETE", `/admin/slots/${slotId}`, { token: (await createUser("ADMIN")).token });
    expect(await statusOf(held.body.id)).toBe("CANCELLED");
    expect(await runAlarm(slotId)).toBe(true);
    expect(await alarmOf(slotId)).toBeNull();
    expect(await slotEntries(slotId)).toMatchObject({ held_count: 0, held_rows: 0 });
  });
});
