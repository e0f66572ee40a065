import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { HOLD_SECONDS } from "../src/bookings/schemas";
import { slotObject } from "../src/objects/stubs";
import { alarmOf, hold, joinWaitlist } from "./support/bookings";
import { api, refusedFields } from "./support/client";
import { eventually } from "./support/properties";
import { createSlot, expectConsistent } from "./support/slots";
import { createUser, createUsers } from "./support/users";

// How long a hold lasts (hold_seconds), and the alarm that ends it on time by itself: also in an
// object the runtime woke for its alarm alone, which no request has named.

const holdFor = (token: string, slotId: number, seconds: unknown) =>
  api<{ id: number; status: string; expires_at?: string }>("POST", "/bookings", { token, body: { time_slot_id: slotId, hold: true, hold_seconds: seconds } });

const statusOf = async (bookingId: number) =>
  (await env.DB.prepare("SELECT status FROM bookings WHERE id = ?").bind(bookingId).first<{ status: string }>())!.status;

describe("hold_seconds", () => {
  it.each([HOLD_SECONDS.min, 90, HOLD_SECONDS.max])("a hold of %i s ends that many seconds after it was made, rounded up to the second", async (seconds) => {
    const { token } = await createUser();
    const before = Date.now();
    const held = await holdFor(token, await createSlot(), seconds);
    expect(held.status).toBe(201);
    const end = Date.parse(held.body.expires_at!);
    expect(end).toBeGreaterThanOrEqual(Math.floor((before + seconds * 1000) / 1000) * 1000);
    expect(end).toBeLessThanOrEqual(Date.now() + seconds * 1000 + 1_000);
  });

  it.each([29, 1801, 0, -30, 60.5, "60", null])("refuses hold_seconds=%j with 422 naming it", async (seconds) => {
    const { token } = await createUser();
    expect(refusedFields(await holdFor(token, await createSlot(), seconds))).toEqual({ status: 422, fields: ["hold_seconds"] });
  });

  it("refuses hold_seconds without hold: true (422), and books nothing", async () => {
    const { token } = await createUser();
    const slotId = await createSlot();
    const refused = await api("POST", "/bookings", { token, body: { time_slot_id: slotId, hold_seconds: 60 } });
    expect(refusedFields(refused)).toEqual({ status: 422, fields: ["hold_seconds"] });
    expect(await expectConsistent(slotId)).toMatchObject({ booked_rows: 0 });
  });

  it("a shorter hold after a longer one brings the slot's one alarm forward to its end", async () => {
    const slotId = await createSlot({ capacity: 2 });
    const [long, short] = await createUsers(2);
    const first = await holdFor(long.token, slotId, 600);
    expect(await alarmOf(slotId)).toBe(Date.parse(first.body.expires_at!));
    const second = await holdFor(short.token, slotId, 60);
    expect(await alarmOf(slotId)).toBe(Date.parse(second.body.expires_at!));
  });
});

describe("an object woken by its alarm alone", () => {
  it("keeps its slot's id in its own storage from the first request that names it", async () => {
    const slotId = await createSlot();
    await hold(await createUser(), slotId);
    expect(await runInDurableObject(slotObject(env, slotId), (_, state) => state.storage.kv.get("slot_id"))).toBe(slotId);
  });

  it("releases the expired hold and promotes the waiter by itself in the instance woken after an eviction", async () => {
    const slotId = await createSlot({ capacity: 1 });
    const [holder, waiter] = await createUsers(2);
    const held = await holdFor(holder.token, slotId, HOLD_SECONDS.min);
    const joined = await joinWaitlist(waiter, slotId);
    // Due in a moment; then the instance goes, so that the runtime wakes a new one for the alarm alone.
    const stub = slotObject(env, slotId);
    await runInDurableObject(stub, async (_, state) => {
      await env.DB.prepare("UPDATE bookings SET expires_at = '2000-01-01T00:00:00Z' WHERE id = ?").bind(held.body.id).run();
      await state.storage.setAlarm(Date.now() + 500);
    });
    await evictDurableObject(stub);
    await eventually(() => statusOf(joined.body.id), (status) => status === "BOOKED", 10_000);
    expect(await statusOf(held.body.id)).toBe("CANCELLED");
    await expectConsistent(slotId);
  });
});
