import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type CalendarBookingSchema } from "../src/views/booking";
import { type SlotView } from "../src/views/slot";
import type { z } from "@hono/zod-openapi";
import { FULL_LIST_READ } from "../src/http/listing";
import { book, cancel, confirm, expireHolds, hold, joinWaitlist, runAlarm } from "./support/bookings";
import { api } from "./support/client";
import { createSlot, hoursFromNow } from "./support/slots";
import { createUser, createUsers, uniqueName } from "./support/users";

// What a client of the original API relies on, asked as it asks: no limit, no cursor, no
// bookmark, no Cache-Control. It sees every slot in one answer, and every write it was told of
// in the very next read, micro-cache or not.

type CalendarBooking = z.infer<typeof CalendarBookingSchema>;

/** Inserts `count` one-minute slots straight into D1 from `start`, one a minute; returns their ids in start order. */
async function insertSlots(start: string, count: number): Promise<number[]> {
  const iso = (ms: number) => new Date(ms).toISOString().slice(0, 19) + "Z";
  const rows = Array.from({ length: count }, (_, i) => [iso(Date.parse(start) + i * 60_000), iso(Date.parse(start) + (i + 1) * 60_000)]);
  const inserted = await env.DB.prepare(
    "INSERT INTO time_slots (category_id, start_time, end_time, max_capacity) SELECT 1, json_extract(value, '$[0]'), json_extract(value, '$[1]'), 5 FROM json_each(?) ORDER BY key RETURNING id",
  )
    .bind(JSON.stringify(rows))
    .all<{ id: number }>();
  return inserted.results.map((row) => row.id).sort((a, b) => a - b);
}

const yearQuery = (year: number) => `from=${year}-01-01T00:00:00Z&to=${year + 1}-01-01T00:00:00Z`;

/** The ids GET /slots lists for `query`, asked anonymously (the micro-cache may answer). */
const listedOf = async (query: string) => (await api<SlotView[]>("GET", `/slots?${query}`)).body.map((slot) => slot.id);

describe("an original client sees every slot without paging", () => {
  it("GET /slots without limit answers all 1,200 matching slots in order, in one valid JSON array, with no Link", async () => {
    const ids = await insertSlots("2061-01-01T00:00:00Z", 1_200);
    const listed = await api<SlotView[]>("GET", `/slots?${yearQuery(2061)}`);
    expect(listed.status).toBe(200);
    expect(listed.headers.get("Content-Type")).toContain("application/json");
    expect(listed.body.map((slot) => slot.id)).toEqual(ids);
    expect(listed.headers.get("Link")).toBeNull();
    // Longer than one read: streamed, so no ETag (none can be known before the end) and never cached.
    expect(listed.headers.get("ETag")).toBeNull();
    expect(listed.headers.get("Cache-Control")).toBe("no-cache");
  });

  it("GET /slots with no parameter at all lists every slot D1 holds that is not deleted", async () => {
    await insertSlots("2062-01-01T00:00:00Z", 700);
    const { count } = (await env.DB.prepare("SELECT COUNT(*) AS count FROM time_slots WHERE deleted_at IS NULL").first<{ count: number }>())!;
    expect((await api<SlotView[]>("GET", "/slots")).body).toHaveLength(count);
  });

  it(`a list of up to ${FULL_LIST_READ} slots is one answer with its ETag; one more is streamed`, async () => {
    await insertSlots("2063-01-01T00:00:00Z", FULL_LIST_READ + 1);
    const whole = await api<SlotView[]>("GET", `/slots?from=2063-01-01T00:00:00Z&to=2063-01-01T08:20:00Z`);
    expect(whole.body).toHaveLength(FULL_LIST_READ);
    expect(whole.headers.get("ETag")).not.toBeNull();
    const streamed = await api<SlotView[]>("GET", `/slots?${yearQuery(2063)}`);
    expect(streamed.body).toHaveLength(FULL_LIST_READ + 1);
    expect(streamed.headers.get("ETag")).toBeNull();
  });

  it("limit still opts into pages with Link, and a cursor alone pages by 100", async () => {
    await insertSlots("2064-01-01T00:00:00Z", 250);
    const first = await api<SlotView[]>("GET", `/slots?${yearQuery(2064)}&limit=10`);
    expect(first.body).toHaveLength(10);
    const next = new URL(/^<([^>]+)>/.exec(first.headers.get("Link")!)![1]);
    next.searchParams.delete("limit");
    const byCursor = await api<SlotView[]>("GET", `${next.pathname}${next.search}`);
    expect(byCursor.body).toHaveLength(100);
    expect(byCursor.headers.get("Link")).not.toBeNull();
  });

  it("GET /bookings without limit answers all of the caller's 600 entries", async () => {
    const user = await createUser();
    const slotIds = await insertSlots("2065-01-01T00:00:00Z", 600);
    await env.DB.prepare("INSERT INTO bookings (user_id, time_slot_id, status, created_at) SELECT ?, value, 'BOOKED', '2026-01-01T00:00:00Z' FROM json_each(?)")
      .bind(user.id, JSON.stringify(slotIds))
      .run();
    const listed = await api<CalendarBooking[]>("GET", "/bookings", { token: user.token });
    expect(listed.body.map((booking) => booking.time_slot_id)).toEqual(slotIds);
    expect(listed.headers.get("Link")).toBeNull();
  });
});

describe("an original client reads its own writes at once, with the micro-cache on", () => {
  /** GET /slots/{slot_id} as an original client reads it (anonymous: the micro-cache may answer). */
  const spotsOf = async (slotId: number) => (await api<SlotView>("GET", `/slots/${slotId}`)).body.available_spots;

  it("300 read–book–read rounds: every read after a booking shows it", async () => {
    const slotId = await createSlot({ capacity: 300 });
    const users = await createUsers(300);
    for (const [round, user] of users.entries()) {
      expect(await spotsOf(slotId)).toBe(300 - round);
      expect((await book(user, slotId)).status).toBe(201);
      expect(await spotsOf(slotId)).toBe(299 - round);
    }
  });

  it("each kind of booking change shows in the next read: hold, confirm, cancel, waitlist join and leave, reschedule", async () => {
    const slotId = await createSlot({ capacity: 1 });
    const other = await createSlot({ capacity: 1 });
    const [holder, waiter] = await createUsers(2);
    const waitlistOf = async (id: number) => (await api<SlotView>("GET", `/slots/${id}`)).body.waitlist_length;
    expect(await spotsOf(slotId)).toBe(1);
    const held = await hold(holder, slotId);
    expect(await spotsOf(slotId)).toBe(0);
    expect((await confirm(holder, held.body.id)).status).toBe(200);
    expect(await waitlistOf(slotId)).toBe(0);
    const waiting = await joinWaitlist(waiter, slotId);
    expect(await waitlistOf(slotId)).toBe(1);
    expect((await cancel(waiter, waiting.body.id)).status).toBe(200);
    expect(await waitlistOf(slotId)).toBe(0);
    expect(await spotsOf(other)).toBe(1);
    const moved = await api("POST", `/bookings/${held.body.id}/reschedule`, { token: holder.token, body: { time_slot_id: other } });
    expect(moved.status).toBe(200);
    expect([await spotsOf(slotId), await spotsOf(other)]).toEqual([1, 0]);
    const [booking] = (await api<CalendarBooking[]>("GET", "/bookings", { token: holder.token })).body.filter((entry) => entry.status === "BOOKED");
    expect((await cancel(holder, booking.id)).status).toBe(200);
    expect(await spotsOf(other)).toBe(1);
  });

  it("each admin change shows in the next read: slot create, update, delete, series, category", async () => {
    const admin = await createUser("ADMIN");
    const start = hoursFromNow(24 * 400);
    const window = `from=${start}&to=${new Date(Date.parse(start) + 30 * 86_400_000).toISOString().slice(0, 19)}Z`;
    expect(await listedOf(window)).toEqual([]);
    const end = new Date(Date.parse(start) + 3_600_000).toISOString().slice(0, 19) + "Z";
    const created = await api<SlotView>("POST", "/admin/slots", { token: admin.token, body: { category_id: 1, start_time: start, end_time: end, max_capacity: 4 } });
    expect(await listedOf(window)).toEqual([created.body.id]);
    expect(await spotsOf(created.body.id)).toBe(4);
    expect((await api("PUT", `/admin/slots/${created.body.id}`, { token: admin.token, body: { max_capacity: 9 } })).status).toBe(200);
    expect(await spotsOf(created.body.id)).toBe(9);
    const series = await api<SlotView[]>("POST", "/admin/slots/series", {
      token: admin.token,
      body: { category_id: 1, timezone: "UTC", first_start_local: start.slice(0, 19), duration_minutes: 30, max_capacity: 2, rrule: "FREQ=DAILY;COUNT=3" },
    });
    expect(series.status).toBe(201);
    expect((await listedOf(window)).length).toBe(4);
    expect((await api("DELETE", `/admin/slots/${created.body.id}`, { token: admin.token })).status).toBe(200);
    expect((await api("GET", `/slots/${created.body.id}`)).status).toBe(404);
    expect(await listedOf(window)).not.toContain(created.body.id);
    const names = async () => (await api<{ name: string }[]>("GET", "/categories")).body.map((category) => category.name);
    const name = uniqueName("Pottery");
    expect(await names()).not.toContain(name);
    expect((await api("POST", "/admin/categories", { token: admin.token, body: { name } })).status).toBe(201);
    expect(await names()).toContain(name);
  });

  it("a hold the alarm releases, and the waiter it promotes, show in the next read", async () => {
    const slotId = await createSlot({ capacity: 1 });
    const [holder, waiter] = await createUsers(2);
    await hold(holder, slotId);
    await joinWaitlist(waiter, slotId);
    const before = (await api<SlotView>("GET", `/slots/${slotId}`)).body;
    expect([before.available_spots, before.waitlist_length]).toEqual([0, 1]);
    await expireHolds(slotId);
    await runAlarm(slotId);
    const after = (await api<SlotView>("GET", `/slots/${slotId}`)).body;
    expect([after.available_spots, after.waitlist_length]).toEqual([0, 0]);
    const [entry] = (await api<CalendarBooking[]>("GET", "/bookings", { token: waiter.token })).body;
    expect(entry.status).toBe("BOOKED");
  });

  it("a refused write (4xx) starts no new generation: the cached answer keeps serving", async () => {
    const slotId = await createSlot({ capacity: 1 });
    const first = await api("GET", `/slots/${slotId}`);
    expect(first.headers.get("Age")).toBeNull();
    expect((await api("POST", "/bookings", { token: (await createUser()).token, body: { time_slot_id: 99_999_999 } })).status).toBe(404);
    expect((await api("GET", `/slots/${slotId}`)).headers.get("Age")).not.toBeNull();
  });
});

describe("what a listing shows", () => {
  it("only_available=true leaves out a slot whose only place is held", async () => {
    const [open, held] = await insertSlots("2066-01-01T00:00:00Z", 2);
    await env.DB.prepare("UPDATE time_slots SET max_capacity = 1 WHERE id IN (?, ?)").bind(open, held).run();
    expect((await hold(await createUser(), held)).status).toBe(201);
    expect(await listedOf(`${yearQuery(2066)}&only_available=true`)).toEqual([open]);
  });

  it("a cached page carries every header the fresh one had, Link included", async () => {
    await insertSlots("2067-01-01T00:00:00Z", 5);
    const path = `/slots?${yearQuery(2067)}&limit=3`;
    const fresh = await api("GET", path);
    const cached = await api("GET", path);
    expect(cached.headers.get("Age")).not.toBeNull();
    const comparable = (headers: Headers) => [...headers].filter(([name]) => !["age", "x-request-id", "date"].includes(name));
    expect(comparable(cached.headers)).toEqual(comparable(fresh.headers));
    expect(cached.headers.get("Link")).toMatch(/rel="next"$/);
  });
});
