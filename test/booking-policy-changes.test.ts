import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Policy } from "../src/categories/policy";
import type { SlotView } from "../src/views/slot";
import { book, cancel, joinWaitlist } from "./support/bookings";
import { api, errorOf, refusedFields } from "./support/client";
import { createSlot, expectConsistent, moveSlotInD1, slotEntries } from "./support/slots";
import { createUser, uniqueName, type TestUser } from "./support/users";
import { createWebhook, runCron } from "./support/webhooks";

// Issue 21: a category's policy as an admin sets and changes it (PATCH /admin/categories), how its
// slots follow, what the audit log keeps, and the cron that ends a waitlist at booking close.

let admin: TestUser;
beforeAll(async () => {
  admin = await createUser("ADMIN");
  await createWebhook(admin, ["waitlist.closed"]);
});

type AuditEntry = { action: string; target: string; actor_id: number | null; before: Record<string, unknown> | null; after: Record<string, unknown> | null };

async function categoryWith(policy: Partial<Policy>): Promise<number> {
  const { status, body } = await api<{ id: number }>("POST", "/admin/categories", { token: admin.token, body: { name: uniqueName("Changes"), ...policy } });
  expect(status).toBe(201);
  return body.id;
}

const patchCategory = (categoryId: number, body: unknown) =>
  api<Policy & { id: number; name: string }>("PATCH", `/admin/categories/${categoryId}`, { token: admin.token, body });

const slotView = async (slotId: number) => (await api<SlotView>("GET", `/slots/${slotId}`)).body;

const versionOf = async (slotId: number) => (await env.DB.prepare("SELECT version FROM time_slots WHERE id = ?").bind(slotId).first<{ version: number }>())!.version;

/** The audit entries for `target`, newest first, as GET /admin/audit shows them. */
async function auditOf(target: string): Promise<AuditEntry[]> {
  const { body } = await api<AuditEntry[]>("GET", "/admin/audit?limit=500", { token: admin.token });
  return body.filter((entry) => entry.target === target);
}

describe("PATCH /admin/categories/{category_id} with a policy", () => {
  it.each([
    ["booking_opens_hours_before below 1", { booking_opens_hours_before: 0 }],
    ["booking_opens_hours_before above a year", { booking_opens_hours_before: 8785 }],
    ["a negative booking_closes_minutes_before", { booking_closes_minutes_before: -1 }],
    ["a fractional cancel_until_minutes_before", { cancel_until_minutes_before: 1.5 }],
    ["max_active_per_user of 0", { max_active_per_user: 0 }],
    ["max_active_per_user above 1000", { max_active_per_user: 1001 }],
    ["a rule given as text", { max_active_per_user: "3" }],
  ])("refuses %s with 422 naming the field, and changes nothing", async (_, body) => {
    const categoryId = await categoryWith({ max_active_per_user: 2 });
    expect(refusedFields(await patchCategory(categoryId, body))).toEqual({ status: 422, fields: Object.keys(body) });
    const listed = (await api<(Policy & { id: number })[]>("GET", "/categories")).body.find((category) => category.id === categoryId);
    expect(listed?.max_active_per_user).toBe(2);
  });

  it("refuses an empty body with 422 validation_error, and a window that a change empties with 422 booking_window_empty", async () => {
    const categoryId = await categoryWith({ booking_opens_hours_before: 2 });
    expect(errorOf(await patchCategory(categoryId, {}))).toEqual({ status: 422, code: "validation_error" });
    expect(errorOf(await patchCategory(categoryId, { booking_closes_minutes_before: 120 }))).toEqual({ status: 422, code: "booking_window_empty" });
    expect(errorOf(await patchCategory(999_999, { max_active_per_user: 1 }))).toEqual({ status: 404, code: "category_not_found" });
  });

  it("moves every slot's instants at once (a changed deadline bumps the slot's version), shows the policy in GET /categories, and audits category.policy with before and after", async () => {
    const categoryId = await categoryWith({ cancel_until_minutes_before: 0 });
    const slotId = await createSlot({ categoryId, startsInHours: 48 });
    const before = await slotView(slotId);
    const version = await versionOf(slotId);
    const changed = await patchCategory(categoryId, { booking_opens_hours_before: 24, cancel_until_minutes_before: 60 });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ booking_opens_hours_before: 24, booking_closes_minutes_before: null, cancel_until_minutes_before: 60, max_active_per_user: null });

    // Read at once, without a bookmark or a cache header: the change is this location's own.
    const after = await slotView(slotId);
    const start = Date.parse(before.start_time);
    expect(Date.parse(after.booking_opens_at!)).toBe(start - 24 * 3_600_000);
    expect(Date.parse(after.cancellable_until!)).toBe(start - 60 * 60_000);
    expect(after.booking_closes_at).toBeNull();
    expect(await versionOf(slotId)).toBe(version + 1);
    expect((await api<(Policy & { id: number })[]>("GET", "/categories")).body.find((category) => category.id === categoryId)).toMatchObject({
      booking_opens_hours_before: 24,
      cancel_until_minutes_before: 60,
    });
    const [entry] = await auditOf(`category:${categoryId}`);
    expect(entry).toMatchObject({
      action: "category.policy",
      actor_id: admin.id,
      before: { booking_opens_hours_before: null, cancel_until_minutes_before: 0 },
      after: { booking_opens_hours_before: 24, cancel_until_minutes_before: 60 },
    });

    // The new rule holds at once: booking for a slot two days away has not opened.
    expect(errorOf(await book(await createUser(), slotId))).toEqual({ status: 409, code: "booking_not_open" });
    expect((await patchCategory(categoryId, { booking_opens_hours_before: null })).status).toBe(200);
    expect((await book(await createUser(), slotId)).status).toBe(201);
  });
});

describe("an admin's cancellation past the deadline", () => {
  it("is allowed and audited as booking.cancel by the admin, with the booking as it was", async () => {
    const categoryId = await categoryWith({ cancel_until_minutes_before: 12 * 60 });
    const slotId = await createSlot({ categoryId, startsInHours: 6 });
    const owner = await createUser();
    const booking = await book(owner, slotId);
    expect(errorOf(await cancel(owner, booking.body.id))).toEqual({ status: 409, code: "cancellation_closed" });
    expect(await auditOf(`booking:${booking.body.id}`)).toEqual([]);
    expect((await cancel(admin, booking.body.id)).status).toBe(200);
    const entries = await auditOf(`booking:${booking.body.id}`);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ action: "booking.cancel", actor_id: admin.id, before: { status: "BOOKED" }, after: { status: "CANCELLED" } });
  });
});

describe("the cron at booking close", () => {
  const statusOf = async (bookingId: number) =>
    (await env.DB.prepare("SELECT status FROM bookings WHERE id = ?").bind(bookingId).first<{ status: string }>())!.status;

  it("ends the waitlist of a slot whose booking has closed though it has not started (CANCELLED, waitlist.closed); an open slot keeps its waiters", async () => {
    const categoryId = await categoryWith({ booking_closes_minutes_before: 120 });
    const [closing, open] = [await createSlot({ categoryId, capacity: 1, startsInHours: 5 }), await createSlot({ categoryId, capacity: 1, startsInHours: 5 })];
    const waiters = [];
    for (const slotId of [closing, open]) {
      expect((await book(await createUser(), slotId)).status).toBe(201);
      waiters.push((await joinWaitlist(await createUser(), slotId)).body.id);
    }
    await moveSlotInD1(closing, 1);
    await runCron();
    expect(await Promise.all(waiters.map(statusOf))).toEqual(["CANCELLED", "WAITLISTED"]);
    const events = await env.DB.prepare("SELECT count(*) AS n FROM webhook_events WHERE type = 'waitlist.closed' AND json_extract(data, '$.id') = ?")
      .bind(waiters[0])
      .first<{ n: number }>();
    expect(events?.n).toBe(1);
    expect(await slotEntries(closing)).toMatchObject({ waitlist_length: 0, waiting_rows: 0, booked_count: 1 });
    await expectConsistent(closing);
    await expectConsistent(open);
  });
});
