import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { z } from "@hono/zod-openapi";
import type { CalendarBookingSchema } from "../src/views/booking";
import type { ErrorBody } from "../src/errors/catalogue";
import type { SlotView } from "../src/views/slot";
import { api, errorOf, FRESH, refusedFields, type ApiResponse } from "./support/client";
import { book } from "./support/bookings";
import { createSlot } from "./support/slots";
import { createUser } from "./support/users";

type CalendarBooking = z.infer<typeof CalendarBookingSchema>;

// GET /slots and GET /bookings a page at a time (keyset on (start_time, id), Link rel="next"),
// and GET /slots/{slot_id}. Each test uses a year of its own, as in slots.test.ts.

/** Inserts `count` one-hour slots straight into D1, one an hour from `start`; returns their ids in start order. */
async function insertSlots(start: string, count: number, options: { capacity?: number; sameStart?: boolean } = {}): Promise<number[]> {
  const { capacity = 10, sameStart = false } = options;
  const iso = (ms: number) => new Date(ms).toISOString().slice(0, 19) + "Z";
  const statements = Array.from({ length: count }, (_, i) => {
    const begins = Date.parse(start) + (sameStart ? 0 : i * 3_600_000);
    return env.DB.prepare("INSERT INTO time_slots (category_id, start_time, end_time, max_capacity) VALUES (1, ?, ?, ?) RETURNING id").bind(
      iso(begins),
      iso(begins + 3_600_000),
      capacity,
    );
  });
  const results = await env.DB.batch<{ id: number }>(statements);
  return results.map((result) => result.results[0].id);
}

const yearQuery = (y: number) => `from=${y}-01-01T00:00:00Z&to=${y + 1}-01-01T00:00:00Z`;

function nextLink(response: ApiResponse): string | undefined {
  const link = response.headers.get("Link");
  if (link === null) return undefined;
  const match = /^<(http:\/\/slotbook\.test\/[^>]+)>; rel="next"$/.exec(link);
  expect(match, `Link ${link}`).not.toBeNull();
  return match![1].slice("http://slotbook.test".length);
}

/** Follows Link from `path`; returns each page's ids. */
async function pages<T extends { id: number }>(path: string, token?: string): Promise<number[][]> {
  const result: number[][] = [];
  for (let next: string | undefined = path; next !== undefined; ) {
    const response: ApiResponse<T[]> = await api<T[]>("GET", next, { token, headers: FRESH });
    expect(response.status).toBe(200);
    result.push(response.body.map((row) => row.id));
    next = nextLink(response);
  }
  return result;
}

describe("GET /slots: paging", () => {
  it("with limit=100, gives pages of 100 with an absolute Link to the next page, and no Link on the last", async () => {
    const ids = await insertSlots("2051-01-01T00:00:00Z", 250);
    const all = await pages<SlotView>(`/slots?${yearQuery(2051)}&limit=100`);
    expect(all.map((page) => page.length)).toEqual([100, 100, 50]);
    expect(all.flat()).toEqual(ids);
  });

  it("honours limit up to 500, keeps the other parameters in the Link, and refuses limits outside 1..500", async () => {
    const ids = await insertSlots("2052-01-01T00:00:00Z", 7);
    const first = await api<SlotView[]>("GET", `/slots?${yearQuery(2052)}&limit=3&categories=1`, { headers: FRESH });
    const link = new URL(`http://x${nextLink(first)}`);
    expect(Object.fromEntries(link.searchParams)).toMatchObject({ limit: "3", categories: "1", from: "2052-01-01T00:00:00Z" });
    expect((await pages<SlotView>(`/slots?${yearQuery(2052)}&limit=3`)).map((page) => page.length)).toEqual([3, 3, 1]);
    expect((await pages<SlotView>(`/slots?${yearQuery(2052)}&limit=500`)).flat()).toEqual(ids);
    for (const limit of ["0", "501", "abc", "-1", "1.5"]) {
      const refused = await api<ErrorBody>("GET", `/slots?limit=${limit}`, { headers: FRESH });
      expect(refusedFields(refused)).toEqual({ status: 422, fields: ["limit"] });
    }
  });

  it("is stable while slots are added: no slot twice, none skipped that existed, ties broken by id", async () => {
    // Ten slots at the same instant and ten after: the order within the tie is by id.
    const tied = await insertSlots("2053-03-01T10:00:00Z", 10, { sameStart: true });
    const later = await insertSlots("2053-03-02T10:00:00Z", 10);
    const first = await api<SlotView[]>("GET", `/slots?${yearQuery(2053)}&limit=5`, { headers: FRESH });
    expect(first.body.map((slot) => slot.id)).toEqual(tied.slice(0, 5));
    // Added before the cursor: not shown, and nothing shifts; added after it: shown.
    await insertSlots("2053-01-01T00:00:00Z", 3);
    const [addedAfter] = await insertSlots("2053-12-01T00:00:00Z", 1);
    const rest = (await pages<SlotView>(nextLink(first)!)).flat();
    expect(rest).toEqual([...tied.slice(5), ...later, addedAfter]);
  });

  it("with only_available=true, leaves out full slots", async () => {
    const [open, full] = await insertSlots("2054-01-01T00:00:00Z", 2, { capacity: 1 });
    expect((await book(await createUser(), full)).status).toBe(201);
    const listed = async (query: string) => (await api<SlotView[]>("GET", `/slots?${yearQuery(2054)}${query}`, { headers: FRESH })).body.map((slot) => slot.id);
    expect(await listed("&only_available=true")).toEqual([open]);
    expect(await listed("&only_available=false")).toEqual([open, full]);
    expect((await api("GET", "/slots?only_available=yes")).status).toBe(422);
  });

  it.each(["not-base64!", "e30", btoa('["2050-01-01T00:00:00Z", 0]'), btoa('["yesterday", 5]')])("refuses cursor=%j with 422 naming cursor", async (cursor) => {
    const refused = await api<ErrorBody>("GET", `/slots?cursor=${encodeURIComponent(cursor)}`, { headers: FRESH });
    expect(refusedFields(refused)).toEqual({ status: 422, fields: ["cursor"] });
  });
});

describe("GET /slots/{slot_id}", () => {
  it("returns the slot as GET /slots lists it", async () => {
    const [slotId] = await insertSlots("2055-05-05T05:00:00Z", 1, { capacity: 4 });
    const response = await api<SlotView>("GET", `/slots/${slotId}`);
    expect(response.status).toBe(200);
    expect(response.body).toStrictEqual({
      id: slotId,
      category_id: 1,
      start_time: "2055-05-05T05:00:00Z",
      end_time: "2055-05-05T06:00:00Z",
      max_capacity: 4,
      available_spots: 4,
      waitlist_length: 0,
      timezone: "UTC",
      booking_opens_at: null,
      booking_closes_at: null,
      cancellable_until: "2055-05-05T05:00:00Z",
    });
    expect((await api<SlotView[]>("GET", `/slots?${yearQuery(2055)}`, { headers: FRESH })).body).toEqual([response.body]);
  });

  it("answers 404 slot_not_found for a missing or deleted slot, 422 for an id that is not one", async () => {
    const slotId = await createSlot();
    await env.DB.prepare("UPDATE time_slots SET deleted_at = '2030-01-01T00:00:00Z' WHERE id = ?").bind(slotId).run();
    for (const id of [slotId, 99_999_999]) {
      expect(errorOf(await api("GET", `/slots/${id}`, { headers: FRESH }))).toEqual({ status: 404, code: "slot_not_found" });
    }
    expect((await api("GET", "/slots/abc")).status).toBe(422);
  });
});

describe("GET /bookings: paging and from/to", () => {
  it("pages the caller's bookings by the slot's start, then id, and filters on the slot's start", async () => {
    const user = await createUser();
    const slotIds = await insertSlots("2056-01-01T00:00:00Z", 7);
    const bookingIds: number[] = [];
    for (const slotId of [...slotIds].reverse()) bookingIds.unshift((await book(user, slotId)).body.id);
    // Someone else's booking never shows.
    expect((await book(await createUser(), slotIds[0])).status).toBe(201);

    const all = await pages<CalendarBooking>("/bookings?limit=3", user.token);
    expect(all.map((page) => page.length)).toEqual([3, 3, 1]);
    expect(all.flat()).toEqual(bookingIds);

    const window = await api<CalendarBooking[]>("GET", "/bookings?from=2056-01-01T02:00:00Z&to=2056-01-01T04:00:00Z", { token: user.token });
    expect(window.body.map((booking) => [booking.id, booking.start_time])).toEqual([
      [bookingIds[2], "2056-01-01T02:00:00Z"],
      [bookingIds[3], "2056-01-01T03:00:00Z"],
    ]);
    expect((await api("GET", "/bookings?from=2056-01-02T00:00:00Z&to=2056-01-01T00:00:00Z", { token: user.token })).status).toBe(422);
  });
});
