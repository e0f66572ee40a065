import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { TimeSlotRow, WebhookEventType } from "../src/db/schema";
import { toSlotView } from "../src/views/slot";
import { alarmOf, book, expireHolds, hold, joinWaitlist, runAlarm } from "./support/bookings";
import { api, errorOf } from "./support/client";
import { whileWritesFail } from "./support/failures";
import { createSlot, expectConsistent, slotEntries } from "./support/slots";
import { createUser, createUsers, type TestUser } from "./support/users";
import { createWebhook } from "./support/webhooks";

// The outbox (webhooks/outbox.ts) inside each change's batch (issues 22.8, 22.11): an event carries
// the state its whole batch left, and a change whose event cannot be written does not happen.

let admin: TestUser;
beforeAll(async () => {
  admin = await createUser("ADMIN");
  await createWebhook(admin, ["slot.created", "slot.updated", "slot.deleted", "booking.expired", "booking.cancelled"]);
});

/** The data of the last `type` event written for slot `slotId`, shown as the webhook delivers it. */
async function lastSlotEvent(type: WebhookEventType, slotId: number) {
  const row = await env.DB.prepare("SELECT data FROM webhook_events WHERE type = ? AND json_extract(data, '$.id') = ? ORDER BY id DESC LIMIT 1")
    .bind(type, slotId)
    .first<{ data: string }>();
  return row && toSlotView(JSON.parse(row.data) as TimeSlotRow);
}

const eventsOfType = async (type: WebhookEventType) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM webhook_events WHERE type = ?").bind(type).first<{ n: number }>())!.n;

/** Makes the INSERT of `type` events into the outbox fail inside D1 while `run` runs. */
const whileEventFails = <T>(type: WebhookEventType, run: () => Promise<T>) => whileWritesFail("webhook_events", "INSERT", run, `NEW.type = '${type}'`);

describe("events carry the slot as their whole batch left it", () => {
  it("slot.updated after raising capacity 1 -> 3 with 3 waiters says available_spots 0, waitlist_length 1, as committed", async () => {
    const slotId = await createSlot({ capacity: 1 });
    const [booker, ...waiters] = await createUsers(4);
    await book(booker, slotId);
    for (const waiter of waiters) await joinWaitlist(waiter, slotId);
    const updated = await api("PUT", `/admin/slots/${slotId}`, { token: admin.token, body: { max_capacity: 3 } });
    expect(updated.body).toMatchObject({ max_capacity: 3, available_spots: 0, waitlist_length: 1 });
    expect(await lastSlotEvent("slot.updated", slotId)).toMatchObject({ max_capacity: 3, available_spots: 0, waitlist_length: 1 });
    expect(await slotEntries(slotId)).toMatchObject({ booked_count: 3, waitlist_length: 1 });
  });
});

describe("a change whose event cannot be written fails whole (503), and nothing of it commits", () => {
  it("PUT /admin/slots/{slot_id}: 503, the slot unchanged; the same change succeeds afterwards", async () => {
    const slotId = await createSlot({ capacity: 2 });
    const before = await slotEntries(slotId);
    const events = await eventsOfType("slot.updated");
    const refused = await whileEventFails("slot.updated", () => api("PUT", `/admin/slots/${slotId}`, { token: admin.token, body: { max_capacity: 5 } }));
    expect(errorOf(refused)).toEqual({ status: 503, code: "storage_unavailable" });
    expect(await slotEntries(slotId)).toEqual(before);
    expect(await eventsOfType("slot.updated")).toBe(events);
    expect((await api("PUT", `/admin/slots/${slotId}`, { token: admin.token, body: { max_capacity: 5 } })).status).toBe(200);
    expect(await lastSlotEvent("slot.updated", slotId)).toMatchObject({ max_capacity: 5 });
  });

  it("DELETE /admin/slots/{slot_id}: 503, the slot and its bookings still live", async () => {
    const slotId = await createSlot({ capacity: 2 });
    await book(await createUser(), slotId);
    const refused = await whileEventFails("slot.deleted", () => api("DELETE", `/admin/slots/${slotId}`, { token: admin.token }));
    expect(errorOf(refused)).toEqual({ status: 503, code: "storage_unavailable" });
    expect(await slotEntries(slotId)).toMatchObject({ deleted: 0, booked_count: 1, booked_rows: 1 });
    expect(await lastSlotEvent("slot.deleted", slotId)).toBeNull();
  });

  it("the alarm's release of expired holds: the hold stays HELD, the alarm tries again, and then releases it with its event", async () => {
    const slotId = await createSlot({ capacity: 1 });
    const held = await hold(await createUser(), slotId);
    await expireHolds(slotId);
    const events = await eventsOfType("booking.expired");
    await whileEventFails("booking.expired", () => runAlarm(slotId));
    expect(await slotEntries(slotId)).toMatchObject({ held_count: 1, held_rows: 1 });
    expect(await eventsOfType("booking.expired")).toBe(events);
    expect(await alarmOf(slotId)).toBeGreaterThan(Date.now());
    await runAlarm(slotId);
    const row = await env.DB.prepare("SELECT status FROM bookings WHERE id = ?").bind(held.body.id).first<{ status: string }>();
    expect(row?.status).toBe("CANCELLED");
    expect(await eventsOfType("booking.expired")).toBe(events + 1);
    await expectConsistent(slotId);
  });

  it("POST /admin/slots/series: 503, and no slot of the series exists", async () => {
    const count = async () => (await env.DB.prepare("SELECT count(*) AS n FROM time_slots").first<{ n: number }>())!.n;
    const before = await count();
    const series = { category_id: 1, timezone: "Europe/Berlin", first_start_local: "2031-03-03T09:00", duration_minutes: 60, rrule: "FREQ=DAILY;COUNT=4", max_capacity: 5 };
    const refused = await whileEventFails("slot.created", () => api("POST", "/admin/slots/series", { token: admin.token, body: series }));
    expect(errorOf(refused)).toEqual({ status: 503, code: "storage_unavailable" });
    expect(await count()).toBe(before);
    expect((await api("POST", "/admin/slots/series", { token: admin.token, body: series })).status).toBe(201);
    expect(await count()).toBe(before + 4);
  });
});
