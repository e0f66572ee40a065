import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { toUtcIso } from "../../src/db/time";
import type { SlotView } from "../../src/views/slot";
import { api, client, FRESH, type ApiResponse } from "./client";

// Slots for tests, written straight to D1, and what D1 and the API hold for them: counts, the
// waitlist, and the invariants (expectConsistent).

export function hoursFromNow(hours: number): string {
  return toUtcIso(new Date(Date.now() + hours * 3_600_000));
}

/**
 * A slot written straight to D1 (category 1 unless given): starting `startsInHours` from now, or at
 * `start`; an hour long unless `end` is given.
 */
export async function createSlot(
  options: { capacity?: number; startsInHours?: number; categoryId?: number; start?: string; end?: string } = {},
): Promise<number> {
  const { capacity = 10, startsInHours = 24, categoryId = 1 } = options;
  const start = options.start ?? hoursFromNow(startsInHours);
  const end = options.end ?? toUtcIso(new Date(Date.parse(start) + 3_600_000));
  const row = await env.DB.prepare(
    "INSERT INTO time_slots (category_id, start_time, end_time, max_capacity) VALUES (?, ?, ?, ?) RETURNING id",
  )
    .bind(categoryId, start, end, capacity)
    .first<{ id: number }>();
  return row!.id;
}

/**
 * Moves a slot straight in D1 (behind its object's back) to start `startsInHours` from now, an
 * hour long: with a negative number, a slot that has started.
 */
export async function moveSlotInD1(slotId: number, startsInHours: number): Promise<void> {
  await env.DB.prepare("UPDATE time_slots SET start_time = ?, end_time = ? WHERE id = ?")
    .bind(hoursFromNow(startsInHours), hoursFromNow(startsInHours + 1), slotId)
    .run();
}

/** What D1 holds for a slot: the maintained count and the actual number of BOOKED rows. */
export async function slotCounts(slotId: number) {
  return (await env.DB.prepare(
    `SELECT max_capacity, booked_count,
            (SELECT COUNT(*) FROM bookings WHERE time_slot_id = s.id AND status = 'BOOKED') AS booked_rows
       FROM time_slots s WHERE id = ?`,
  )
    .bind(slotId)
    .first<{ max_capacity: number; booked_count: number; booked_rows: number }>())!;
}

/** Every slot that GET /slots lists for `query` (anonymous, read from D1 past the micro-cache), following its Link pages. */
export async function listAllSlots(query: Record<string, string> = {}): Promise<SlotView[]> {
  const slots: SlotView[] = [];
  let path: string | undefined = `/slots?${new URLSearchParams({ limit: "500", ...query })}`;
  while (path) {
    const response: ApiResponse<SlotView[]> = await api<SlotView[]>("GET", path, { headers: FRESH });
    expect(response.status).toBe(200);
    slots.push(...response.body);
    const next = /<([^>]+)>; rel="next"/.exec(response.headers.get("Link") ?? "")?.[1];
    path = next === undefined ? undefined : new URL(next).pathname + new URL(next).search;
  }
  return slots;
}

/** The slot's available_spots through GET /slots/{slot_id}; undefined if the slot is gone. */
export async function availableSpotsOf(slotId: number): Promise<number | undefined> {
  const response = await client.slots[":slot_id"].$get({ param: { slot_id: String(slotId) } }, { headers: FRESH });
  const slot = await response.json();
  return "available_spots" in slot ? slot.available_spots : undefined;
}

/** Every count D1 keeps for a slot next to the rows it counts, and whether the slot is deleted. */
export async function slotEntries(slotId: number) {
  return (await env.DB.prepare(
    `SELECT max_capacity, booked_count, held_count, waitlist_length, deleted_at IS NOT NULL AS deleted,
            (SELECT COUNT(*) FROM bookings WHERE time_slot_id = s.id AND status = 'BOOKED') AS booked_rows,
            (SELECT COUNT(*) FROM bookings WHERE time_slot_id = s.id AND status = 'HELD') AS held_rows,
            (SELECT COUNT(*) FROM bookings WHERE time_slot_id = s.id AND status = 'WAITLISTED') AS waiting_rows
       FROM time_slots s WHERE id = ?`,
  )
    .bind(slotId)
    .first<{
      max_capacity: number;
      booked_count: number;
      held_count: number;
      waitlist_length: number;
      deleted: number;
      booked_rows: number;
      held_rows: number;
      waiting_rows: number;
    }>())!;
}

/** The ids of a slot's waiters, in line order. */
export async function waitlistOf(slotId: number): Promise<number[]> {
  const { results } = await env.DB.prepare("SELECT id FROM bookings WHERE time_slot_id = ? AND status = 'WAITLISTED' ORDER BY id")
    .bind(slotId)
    .all<{ id: number }>();
  return results.map((row) => row.id);
}

/**
 * Invariants 1, 3 and 5, read from D1 and from the API: the counts equal their rows, booked + held
 * places never exceed max_capacity, no place of a slot still open for booking is free while someone waits, and GET /slots shows
 * available_spots = max_capacity - booked - held and the waitlist's length. Returns D1's counts.
 */
export async function expectConsistent(slotId: number) {
  const counts = await slotCounts(slotId);
  const entries = await slotEntries(slotId);
  expect(counts.booked_count).toBe(counts.booked_rows);
  expect(entries.held_count).toBe(entries.held_rows);
  expect(entries.waitlist_length).toBe(entries.waiting_rows);
  const taken = entries.booked_rows + entries.held_rows;
  expect(taken).toBeLessThanOrEqual(entries.max_capacity);
  // A slot whose booking has ended (it started, or its category's booking closed) promotes no one:
  // its waiters wait for the cron to end their entries (issues 22.7, 21).
  const { ended } = (await env.DB.prepare(
    `SELECT start_time <= strftime('%Y-%m-%dT%H:%M:%SZ', 'now') OR coalesce(booking_closes_at <= strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), 0) AS ended
       FROM time_slots WHERE id = ?`,
  )
    .bind(slotId)
    .first<{ ended: number }>())!;
  if (entries.waiting_rows > 0 && !ended) expect(taken, "no place is free while someone waits").toBe(entries.max_capacity);
  const listed = await (await client.slots[":slot_id"].$get({ param: { slot_id: String(slotId) } }, { headers: FRESH })).json();
  expect("available_spots" in listed && { available_spots: listed.available_spots, waitlist_length: listed.waitlist_length }).toEqual({
    available_spots: entries.max_capacity - taken,
    waitlist_length: entries.waiting_rows,
  });
  return counts;
}
