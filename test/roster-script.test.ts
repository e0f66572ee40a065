import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { rosterCsv, rosterOutcome, rosterStatements } from "../scripts/roster";
import { book, hold, joinWaitlist } from "./support/bookings";
import { api } from "./support/client";
import { createSlot } from "./support/slots";
import { createUser, createUsers } from "./support/users";

// `npm run admin -- roster <slot_id> [--csv]` runs these very statements through wrangler: they
// must give what the API gives.

const runStatements = async (slotId: number) => rosterOutcome(await env.DB.batch(rosterStatements(slotId).map((statement) => env.DB.prepare(statement))));

describe("the roster script's statements", () => {
  it("print the same CSV as GET /admin/slots/{slot_id}/bookings?format=csv, byte for byte", async () => {
    const admin = await createUser("ADMIN");
    const slotId = await createSlot({ capacity: 2 });
    const [booker, holder, waiter] = await createUsers(3);
    const booked = await book(booker, slotId);
    await hold(holder, slotId);
    await joinWaitlist(waiter, slotId);
    await api("POST", `/admin/bookings/${booked.body.id}/check-in`, { token: admin.token });
    const fromApi = await api<string>("GET", `/admin/slots/${slotId}/bookings?format=csv`, { token: admin.token });
    const rows = await runStatements(slotId);
    expect(rows).toHaveLength(3);
    expect(rosterCsv(rows!)).toBe(fromApi.body);
  });

  it("tell a missing or deleted slot apart from an empty one", async () => {
    expect(await runStatements(99_999_999)).toBeUndefined();
    const slotId = await createSlot();
    expect(await runStatements(slotId)).toEqual([]);
    await env.DB.prepare("UPDATE time_slots SET deleted_at = '2030-01-01T00:00:00Z' WHERE id = ?").bind(slotId).run();
    expect(await runStatements(slotId)).toBeUndefined();
  });
});
