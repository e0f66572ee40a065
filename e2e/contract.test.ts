// The original API's contract on a real `wrangler dev` (its Cache API, its alarms): a client that
// sends no limit, no bookmark and no Cache-Control sees every slot and its own writes at once,
// and a hold ends on time with no request to its slot.
import { describe, expect, it } from "vitest";
import { adminToken, baseUrl, book, call, newAccount, newSlot, WORKSHOP, type Slot } from "./helpers";

/** A GET as the original's clients send it: no paging, no bookmark, no cache headers (the micro-cache may answer). */
async function originalGet<T>(path: string): Promise<T> {
  const response = await fetch(`${baseUrl}${path}`);
  expect(response.status, path).toBe(200);
  return (await response.json()) as T;
}

type Entry = { id: number; status: string };

describe("an original client on a real server", () => {
  it("sees all 1,200 slots of a window in one GET /slots, without limit", async () => {
    const token = await adminToken();
    const first = new Date(Date.UTC(2090, 0, 1, 9));
    for (const month of [0, 1, 2]) {
      const start = new Date(first.getTime() + month * 31 * 86_400_000).toISOString().slice(0, 19);
      const series = await call<Slot[]>("POST", "/admin/slots/series", {
        token,
        json: { category_id: WORKSHOP, timezone: "UTC", first_start_local: start, duration_minutes: 30, max_capacity: 3, rrule: "FREQ=DAILY;COUNT=400" },
      });
      expect(series.status).toBe(201);
    }
    const slots = await originalGet<Slot[]>("/slots?from=2090-01-01T00:00:00Z&to=2095-01-01T00:00:00Z");
    expect(slots).toHaveLength(1_200);
    expect(new Set(slots.map((slot) => slot.id)).size).toBe(1_200);
  });

  it("reads each of its 25 bookings and 25 cancellations in the very next GET /slots/{slot_id}", async () => {
    const slot = await newSlot(5);
    const { token } = await newAccount("rebooker");
    for (let round = 0; round < 25; round += 1) {
      expect((await originalGet<Slot>(`/slots/${slot.id}`)).available_spots).toBe(5);
      const { id } = await book(token, slot.id);
      expect((await originalGet<Slot>(`/slots/${slot.id}`)).available_spots).toBe(4);
      expect((await call("DELETE", `/bookings/${id}`, { token })).status).toBe(200);
    }
  });

  it("a 30 s hold ends on time by the slot's alarm and its place goes to the waiter, with no request to the slot in between", async () => {
    const slot = await newSlot(1);
    const [holder, waiter] = [await newAccount("holder"), await newAccount("waiter")];
    const held = await call<Entry & { expires_at: string }>("POST", "/bookings", { token: holder.token, json: { time_slot_id: slot.id, hold: true, hold_seconds: 30 } });
    expect(held.status).toBe(201);
    const joined = await call<Entry>("POST", "/bookings", { token: waiter.token, json: { time_slot_id: slot.id, waitlist: true } });
    expect(joined.status).toBe(202);
    // Only D1 is read from here on (GET /bookings never reaches the slot's object).
    const statusOf = async (token: string, id: number) => (await call<Entry[]>("GET", "/bookings", { token })).body.find((entry) => entry.id === id)?.status;
    const end = Date.parse(held.body.expires_at);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, end - Date.now() - 2_000)));
    expect(await statusOf(holder.token, held.body.id)).toBe("HELD");
    let promoted: number | undefined;
    while (promoted === undefined && Date.now() < end + 10_000) {
      if ((await statusOf(waiter.token, joined.body.id)) === "BOOKED") promoted = Date.now();
      else await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(promoted, "the waiter was promoted").toBeDefined();
    expect(promoted! - end, "within 5 s of the hold's end").toBeLessThan(5_000);
    expect(await statusOf(holder.token, held.body.id)).toBe("CANCELLED");
    expect((await originalGet<Slot>(`/slots/${slot.id}`)).available_spots).toBe(0);
  }, 90_000);
});
