import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { HOLD_COOLDOWN_SECONDS, HOLD_LIMIT } from "../src/bookings/hold-rules";
import { toUtcIso } from "../src/db/time";
import { book, cancel, confirm, expireHolds, hold, runAlarm } from "./support/bookings";
import { errorOf } from "./support/client";
import { createSlot, expectConsistent } from "./support/slots";
import { createUser, createUsers } from "./support/users";

// Issue 22.1: one account cannot hold the inventory, nor keep a place by cancelling and holding again.

/** Makes the cool-down of `userId`'s ended holds on `slotId` pass, in D1: they ended `secondsAgo` ago. */
async function endedHoldsAgo(userId: number, slotId: number, secondsAgo: number) {
  await env.DB.prepare("UPDATE bookings SET cancelled_at = ? WHERE user_id = ? AND time_slot_id = ? AND status = 'CANCELLED' AND expires_at IS NOT NULL")
    .bind(toUtcIso(new Date(Date.now() - secondsAgo * 1000)), userId, slotId)
    .run();
}

describe("the per-user limit on live holds", () => {
  it(`20 parallel holds by one user across 20 slots: exactly ${HOLD_LIMIT} are 201, the others 409 hold_limit_reached naming the limit`, async () => {
    const slots = await Promise.all(Array.from({ length: 20 }, () => createSlot({ capacity: 3 })));
    const holder = await createUser();
    const answers = await Promise.all(slots.map((slotId) => hold(holder, slotId)));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(HOLD_LIMIT);
    const refused = answers.filter((a) => a.status !== 201);
    expect(refused.map(errorOf)).toEqual(Array(20 - HOLD_LIMIT).fill({ status: 409, code: "hold_limit_reached" }));
    expect(refused[0].body.detail).toContain(String(HOLD_LIMIT));
    const { n } = (await env.DB.prepare("SELECT count(*) AS n FROM bookings WHERE user_id = ? AND status = 'HELD'").bind(holder.id).first<{ n: number }>())!;
    expect(n).toBe(HOLD_LIMIT);
    // A refused hold left its slot as it was.
    await Promise.all(slots.map(expectConsistent));
  });

  it("a confirmed hold, an expired one or a plain booking does not count: the user may hold again", async () => {
    const slots = await Promise.all(Array.from({ length: HOLD_LIMIT + 3 }, () => createSlot({ capacity: 2 })));
    const holder = await createUser();
    const held = [];
    for (const slotId of slots.slice(0, HOLD_LIMIT)) held.push((await hold(holder, slotId)).body);
    expect(errorOf(await hold(holder, slots[HOLD_LIMIT]))).toEqual({ status: 409, code: "hold_limit_reached" });
    expect((await book(holder, slots[HOLD_LIMIT])).status).toBe(201);
    expect((await confirm(holder, held[0].id)).status).toBe(200);
    expect((await hold(holder, slots[HOLD_LIMIT + 1])).status).toBe(201);
    await expireHolds(slots[1]);
    expect((await hold(holder, slots[HOLD_LIMIT + 2])).status).toBe(201);
  });

  it("D1 refuses a hold beyond the limit even behind the slot objects' back", async () => {
    const slots = await Promise.all(Array.from({ length: HOLD_LIMIT + 1 }, () => createSlot()));
    const holder = await createUser();
    const insert = env.DB.prepare("INSERT INTO bookings (user_id, time_slot_id, status, created_at, expires_at) VALUES (?, ?, 'HELD', 'now', '2999-01-01T00:00:00Z')");
    for (const slotId of slots.slice(0, HOLD_LIMIT)) await insert.bind(holder.id, slotId).run();
    await expect(insert.bind(holder.id, slots[HOLD_LIMIT]).run()).rejects.toThrow(/hold limit reached/);
  });
});

describe("the cool-down after an ended hold", () => {
  it(`a hold its holder cancelled: a new hold on that slot is 409 hold_cooldown with Retry-After, and 201 once ${HOLD_COOLDOWN_SECONDS} s have passed`, async () => {
    const slotId = await createSlot({ capacity: 1 });
    const holder = await createUser();
    const held = await hold(holder, slotId);
    expect((await cancel(holder, held.body.id)).status).toBe(200);
    const again = await hold(holder, slotId);
    expect(errorOf(again)).toEqual({ status: 409, code: "hold_cooldown" });
    const retryAfter = Number(again.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThanOrEqual(HOLD_COOLDOWN_SECONDS - 5);
    expect(retryAfter).toBeLessThanOrEqual(HOLD_COOLDOWN_SECONDS);
    await endedHoldsAgo(holder.id, slotId, HOLD_COOLDOWN_SECONDS - 10);
    const later = await hold(holder, slotId);
    expect(errorOf(later)).toEqual({ status: 409, code: "hold_cooldown" });
    expect(Number(later.headers.get("Retry-After"))).toBeLessThanOrEqual(10);
    await endedHoldsAgo(holder.id, slotId, HOLD_COOLDOWN_SECONDS + 1);
    expect((await hold(holder, slotId)).body).toMatchObject({ status: "HELD" });
    await expectConsistent(slotId);
  });

  it("a hold that expired: its holder cannot hold the slot again at once, but may book it, and other users may hold it", async () => {
    const slotId = await createSlot({ capacity: 2 });
    const [holder, other] = await createUsers(2);
    await hold(holder, slotId);
    await expireHolds(slotId);
    await runAlarm(slotId);
    expect(errorOf(await hold(holder, slotId))).toEqual({ status: 409, code: "hold_cooldown" });
    expect((await hold(other, slotId)).status).toBe(201);
    expect((await book(holder, slotId)).body).toMatchObject({ status: "BOOKED" });
    await expectConsistent(slotId);
  });

  it("hold churn cannot keep a capacity-1 slot from a plain booker: after the cancel, the churner's hold is refused and the booker gets the place", async () => {
    const slotId = await createSlot({ capacity: 1 });
    const [churner, booker] = await createUsers(2);
    const held = await hold(churner, slotId);
    expect(errorOf(await book(booker, slotId))).toEqual({ status: 409, code: "slot_full" });
    await cancel(churner, held.body.id);
    expect(errorOf(await hold(churner, slotId))).toEqual({ status: 409, code: "hold_cooldown" });
    expect((await book(booker, slotId)).body).toMatchObject({ status: "BOOKED", user_id: booker.id });
  });
});
