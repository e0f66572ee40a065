import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { toUtcIso } from "../src/db/time";
import { book, cancel, joinWaitlist } from "./support/bookings";
import { api, errorOf } from "./support/client";
import { createSlot, expectConsistent, slotEntries } from "./support/slots";
import { createUser, createUsers, type TestUser } from "./support/users";
import { createWebhook, runCron } from "./support/webhooks";

// Issue 22.7: a started slot gives no place to its waiters; their entries end, announced.

let admin: TestUser;
beforeAll(async () => {
  admin = await createUser("ADMIN");
  await createWebhook(admin, ["waitlist.closed", "booking.promoted"]);
});

const statusOf = async (bookingId: number) =>
  (await env.DB.prepare("SELECT status FROM bookings WHERE id = ?").bind(bookingId).first<{ status: string }>())!.status;

const eventsFor = async (type: string, bookingId: number) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM webhook_events WHERE type = ? AND json_extract(data, '$.id') = ?").bind(type, bookingId).first<{ n: number }>())!.n;

/** A full slot of capacity 1 with one booking and `waiters` waiting, then moved by an admin to have started 10 minutes ago. */
async function startedFullSlot(waiters: number) {
  const slotId = await createSlot({ capacity: 1 });
  const [booker, ...others] = await createUsers(1 + waiters);
  const booked = await book(booker, slotId);
  const waiting = [];
  for (const waiter of others) waiting.push({ user: waiter, id: (await joinWaitlist(waiter, slotId)).body.id });
  const moved = await api("PUT", `/admin/slots/${slotId}`, {
    token: admin.token,
    body: { start_time: toUtcIso(new Date(Date.now() - 600_000)), end_time: toUtcIso(new Date(Date.now() + 3_000_000)) },
  });
  expect(moved.status).toBe(200);
  return { slotId, booked: booked.body.id, waiting };
}

describe("a started slot's waiters", () => {
  it("are not promoted when an admin cancels a booking after the start, nor when the capacity grows", async () => {
    const { slotId, booked, waiting } = await startedFullSlot(2);
    expect((await api("DELETE", `/bookings/${booked}`, { token: admin.token })).status).toBe(200);
    expect(await statusOf(waiting[0].id)).toBe("WAITLISTED");
    expect((await api("PUT", `/admin/slots/${slotId}`, { token: admin.token, body: { max_capacity: 3 } })).status).toBe(200);
    expect(await Promise.all(waiting.map(({ id }) => statusOf(id)))).toEqual(["WAITLISTED", "WAITLISTED"]);
    expect(await eventsFor("booking.promoted", waiting[0].id)).toBe(0);
    await expectConsistent(slotId);
  });

  it("have their entries ended by the cron (CANCELLED, announced as waitlist.closed); a slot not started keeps its waiters", async () => {
    const { slotId, waiting } = await startedFullSlot(2);
    const later = await createSlot({ capacity: 1 });
    await book(await createUser(), later);
    const laterWaiter = (await joinWaitlist(await createUser(), later)).body.id;
    await runCron();
    expect(await Promise.all(waiting.map(({ id }) => statusOf(id)))).toEqual(["CANCELLED", "CANCELLED"]);
    expect(await Promise.all(waiting.map(({ id }) => eventsFor("waitlist.closed", id)))).toEqual([1, 1]);
    const { data } = (await env.DB.prepare("SELECT data FROM webhook_events WHERE type = 'waitlist.closed' AND json_extract(data, '$.id') = ?")
      .bind(waiting[0].id)
      .first<{ data: string }>())!;
    expect(JSON.parse(data)).toEqual({ id: waiting[0].id, user_id: waiting[0].user.id, time_slot_id: slotId, status: "CANCELLED" });
    expect(await slotEntries(slotId)).toMatchObject({ waitlist_length: 0, waiting_rows: 0, booked_count: 1 });
    expect(await statusOf(laterWaiter)).toBe("WAITLISTED");
    // The slot's object remembers the change, and its owner sees the entry ended.
    const mine = await api<{ id: number; status: string }[]>("GET", "/bookings", { token: waiting[1].user.token, headers: { "Cache-Control": "no-cache" } });
    expect(mine.body.find((entry) => entry.id === waiting[1].id)?.status).toBe("CANCELLED");
    expect(errorOf(await cancel(waiting[1].user, waiting[1].id))).toEqual({ status: 409, code: "already_cancelled" });
    // Once more changes nothing.
    await runCron();
    expect(await eventsFor("waitlist.closed", waiting[0].id)).toBe(1);
    await expectConsistent(slotId);
  });
});
