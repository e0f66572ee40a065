import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { availableSpotsOf, createSlot, slotCounts } from "./support/slots";
import { book } from "./support/bookings";
import { createUsers } from "./support/users";
import { statusCounts } from "./support/client";

const USERS = 1_000;
const CAPACITY = 50;

describe("stampede on one slot", () => {
  it(`${USERS} users booking a capacity-${CAPACITY} slot at once: exactly ${CAPACITY} × 201, the rest 409 slot_full, no 5xx, nothing overbooked`, async () => {
    const users = await createUsers(USERS);
    expect(new Set(users.map((user) => user.id)).size).toBe(USERS);
    const slotId = await createSlot({ capacity: CAPACITY });

    const started = performance.now();
    const responses = await Promise.all(users.map((user) => book(user, slotId)));
    const elapsed = performance.now() - started;

    const counts = statusCounts(responses);
    const slotFull = responses.filter((r) => r.status === 409 && r.body.code === "slot_full").length;
    console.log(
      `stress: ${USERS} concurrent POST /bookings on one slot of capacity ${CAPACITY} in ${(elapsed / 1000).toFixed(2)} s: ` +
        `statuses ${JSON.stringify(counts)}, ${slotFull} × 409 slot_full`,
    );

    expect(responses.filter((r) => r.status >= 500), "no 5xx").toEqual([]);
    expect(counts).toEqual({ 201: CAPACITY, 409: USERS - CAPACITY });
    expect(slotFull).toBe(USERS - CAPACITY);
    const winners = responses.filter((r) => r.status === 201).map((r) => r.body.user_id);
    expect(new Set(winners).size, "every place went to a different user").toBe(CAPACITY);

    expect(await availableSpotsOf(slotId)).toBe(0);
    expect(await slotCounts(slotId)).toEqual({ max_capacity: CAPACITY, booked_count: CAPACITY, booked_rows: CAPACITY });
    const rows = await env.DB.prepare("SELECT COUNT(*) AS n FROM bookings WHERE time_slot_id = ?").bind(slotId).first<{ n: number }>();
    expect(rows!.n, "no refused attempt left a row behind").toBe(CAPACITY);
  });
});
