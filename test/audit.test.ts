import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { ErrorBody } from "../src/errors/catalogue";
import type { SlotView } from "../src/views/slot";
import { api } from "./support/client";
import { book } from "./support/bookings";
import { createSlot, moveSlotInD1 } from "./support/slots";
import { createUser, createUsers, uniqueName, type TestUser } from "./support/users";
import { whileWritesFail } from "./support/failures";

type AuditEntry = {
  id: number;
  actor_id: number | null;
  action: string;
  target: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  created_at: string;
};

const NEW_SLOT = { category_id: 1, start_time: "2040-03-01T10:00:00Z", end_time: "2040-03-01T11:00:00Z", max_capacity: 10 };
const UTC_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

let admin: TestUser;
beforeAll(async () => {
  admin = await createUser("ADMIN");
});

afterEach(() => {
  vi.restoreAllMocks();
});


function asAdmin<T>(method: string, path: string, body?: unknown) {
  return api<T>(method, path, { token: admin.token, body });
}

/** Every entry for `target`, oldest first, as GET /admin/audit shows them. */
async function entriesFor(target: string): Promise<AuditEntry[]> {
  const { status, body } = await asAdmin<AuditEntry[]>("GET", "/admin/audit?limit=500");
  expect(status).toBe(200);
  return body.filter((entry) => entry.target === target).reverse();
}

async function auditRowCount(): Promise<number> {
  return (await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_log").first<{ n: number }>())!.n;
}

/** Makes every INSERT into audit_log fail inside D1 while `run` runs, without logging the 503s. */
function whileAuditFails<T>(run: () => Promise<T>): Promise<T> {
  vi.spyOn(console, "error").mockImplementation(() => {});
  return whileWritesFail("audit_log", "INSERT", run);
}

async function newSlot(): Promise<SlotView> {
  const response = await asAdmin<SlotView>("POST", "/admin/slots", NEW_SLOT);
  expect(response.status).toBe(201);
  return response.body;
}

async function slotRow(slotId: number) {
  return env.DB.prepare("SELECT max_capacity, deleted_at FROM time_slots WHERE id = ?").bind(slotId).first<{ max_capacity: number; deleted_at: string | null }>();
}

/** The slot `id` made from NEW_SLOT, as the API shows a slot. */
const slotJson = (id: number) => ({
  id,
  ...NEW_SLOT,
  available_spots: 10,
  waitlist_length: 0,
  timezone: "UTC",
  booking_opens_at: null,
  booking_closes_at: null,
  cancellable_until: NEW_SLOT.start_time,
});

describe("the audit log records each admin action with its actor, target, before and after", () => {
  it("category create: category.create, before null, after the name", async () => {
    const name = uniqueName("Audited");
    const { body } = await asAdmin<{ id: number }>("POST", "/admin/categories", { name });
    expect(await entriesFor(`category:${body.id}`)).toEqual([
      { id: expect.any(Number), actor_id: admin.id, action: "category.create", target: `category:${body.id}`, before: null, after: { name }, created_at: expect.stringMatching(UTC_INSTANT) },
    ]);
  });

  it("slot create: slot.create, before null, after the slot", async () => {
    const slot = await newSlot();
    expect(await entriesFor(`slot:${slot.id}`)).toEqual([expect.objectContaining({ actor_id: admin.id, action: "slot.create", before: null, after: slotJson(slot.id) })]);
  });

  it("slot update: slot.update, before and after the change, with the policy instants of the new start", async () => {
    const slot = await newSlot();
    expect((await asAdmin("PUT", `/admin/slots/${slot.id}`, { max_capacity: 15, start_time: "2040-03-01T09:00:00Z" })).status).toBe(200);
    const [, update] = await entriesFor(`slot:${slot.id}`);
    expect(update).toMatchObject({
      actor_id: admin.id,
      action: "slot.update",
      before: slotJson(slot.id),
      after: { ...slotJson(slot.id), max_capacity: 15, available_spots: 15, start_time: "2040-03-01T09:00:00Z", cancellable_until: "2040-03-01T09:00:00Z" },
    });
  });

  it("slot delete: slot.delete, before the slot with the places that were taken, after null", async () => {
    const slotId = await createSlot({ capacity: 5 });
    for (const user of await createUsers(2)) expect((await book(user, slotId)).status).toBe(201);
    expect((await asAdmin("DELETE", `/admin/slots/${slotId}`)).status).toBe(200);
    expect(await entriesFor(`slot:${slotId}`)).toEqual([
      expect.objectContaining({ actor_id: admin.id, action: "slot.delete", before: expect.objectContaining({ max_capacity: 5, available_spots: 3 }), after: null }),
    ]);
  });

  it("promotion and demotion: user.promote and user.demote with the role before and after", async () => {
    const user = await createUser();
    await asAdmin("PUT", `/admin/users/${user.id}/role`, { role: "ADMIN" });
    await asAdmin("PUT", `/admin/users/${user.id}/role`, { role: "USER" });
    expect(await entriesFor(`user:${user.id}`)).toEqual([
      expect.objectContaining({ actor_id: admin.id, action: "user.promote", before: { role: "USER" }, after: { role: "ADMIN" } }),
      expect.objectContaining({ actor_id: admin.id, action: "user.demote", before: { role: "ADMIN" }, after: { role: "USER" } }),
    ]);
  });

  it("booking cancel: booking.cancel when an admin cancels someone else's booking or one whose slot has started, before and after", async () => {
    const [owner, ownerToo] = await createUsers(2);
    const slotId = await createSlot();
    const [others, ownStarted] = [await book(owner, slotId), await book(admin, slotId)];
    const ownBeforeStart = await book(ownerToo, slotId);
    expect((await api("DELETE", `/bookings/${others.body.id}`, { token: admin.token })).status).toBe(200);
    expect((await api("DELETE", `/bookings/${ownBeforeStart.body.id}`, { token: ownerToo.token })).status).toBe(200);
    await moveSlotInD1(slotId, -0.5);
    expect((await api("DELETE", `/bookings/${ownStarted.body.id}`, { token: admin.token })).status).toBe(200);
    const booking = (id: number, userId: number) => ({ id, user_id: userId, time_slot_id: slotId, status: "BOOKED" });
    expect(await entriesFor(`booking:${others.body.id}`)).toEqual([
      expect.objectContaining({ actor_id: admin.id, action: "booking.cancel", before: booking(others.body.id, owner.id), after: { ...booking(others.body.id, owner.id), status: "CANCELLED" } }),
    ]);
    expect(await entriesFor(`booking:${ownStarted.body.id}`)).toEqual([expect.objectContaining({ actor_id: admin.id, action: "booking.cancel" })]);
    expect(await entriesFor(`booking:${ownBeforeStart.body.id}`)).toEqual([]);
  });

  it("an entry recorded before slot rows (five fields under the API's names) is shown as the API shows a slot, with no policy instants", async () => {
    const slotId = await createSlot({ capacity: 4 });
    const recorded = { category_id: 1, start_time: "2040-04-01T10:00:00Z", end_time: "2040-04-01T11:00:00Z", max_capacity: 4, booked_count: 1 };
    await env.DB.prepare("INSERT INTO audit_log (actor_id, action, target, before, after, created_at) VALUES (?, 'slot.delete', ?, ?, NULL, '2030-01-01T00:00:00Z')")
      .bind(admin.id, `slot:${slotId}`, JSON.stringify(recorded))
      .run();
    const migration = env.TEST_MIGRATIONS.find((migration) => migration.name.startsWith("0011_audit_slot_rows"))!;
    for (const query of migration.queries) await env.DB.prepare(query).run();
    expect(await entriesFor(`slot:${slotId}`)).toEqual([
      expect.objectContaining({
        action: "slot.delete",
        before: { id: slotId, category_id: 1, start_time: recorded.start_time, end_time: recorded.end_time, max_capacity: 4, available_spots: 3, waitlist_length: 0, timezone: "UTC",
          booking_opens_at: null, booking_closes_at: null, cancellable_until: null },
        after: null,
      }),
    ]);
  });

  it("records nothing for a role the user already has", async () => {
    const user = await createUser("ADMIN");
    expect((await asAdmin("PUT", `/admin/users/${user.id}/role`, { role: "ADMIN" })).status).toBe(200);
    expect(await entriesFor(`user:${user.id}`)).toEqual([]);
  });
});

describe("a change and its audit entry exist together or not at all", () => {
  type Send = () => Promise<{ status: number }>;
  it.each<[string, () => Promise<Send>, number]>([
    ["a refused category create (409 category_exists)", async () => () => asAdmin("POST", "/admin/categories", { name: "Fitness" }), 409],
    ["a refused slot create (422 unknown_category)", async () => () => asAdmin("POST", "/admin/slots", { ...NEW_SLOT, category_id: 999_999 }), 422],
    [
      "a refused slot update (422 unknown_category)",
      async () => {
        const slot = await newSlot();
        return () => asAdmin("PUT", `/admin/slots/${slot.id}`, { category_id: 999_999 });
      },
      422,
    ],
    ["an update of an unknown slot (404)", async () => () => asAdmin("PUT", "/admin/slots/999999999", { max_capacity: 5 }), 404],
    ["a delete of an unknown slot (404)", async () => () => asAdmin("DELETE", "/admin/slots/999999999"), 404],
    ["a role change of an unknown user (404)", async () => () => asAdmin("PUT", "/admin/users/999999999/role", { role: "ADMIN" }), 404],
  ])("%s writes no entry", async (_, prepare, status) => {
    const send = await prepare();
    const before = await auditRowCount();
    expect((await send()).status).toBe(status);
    expect(await auditRowCount()).toBe(before);
  });

  it("a category create whose entry cannot be written creates no category (503 storage_unavailable, nothing half-written)", async () => {
    const name = uniqueName("Unrecorded");
    const response = await whileAuditFails(() => asAdmin<ErrorBody>("POST", "/admin/categories", { name }));
    expect(response.status).toBe(503);
    expect(response.body.code).toBe("storage_unavailable");
    expect(await env.DB.prepare("SELECT 1 FROM categories WHERE name = ?").bind(name).first()).toBeNull();
  });

  it("a slot create whose entry cannot be written creates no slot", async () => {
    const start_time = "2040-04-04T04:04:00Z";
    const response = await whileAuditFails(() => asAdmin("POST", "/admin/slots", { ...NEW_SLOT, start_time, end_time: "2040-04-04T05:00:00Z" }));
    expect(response.status).toBe(503);
    expect(await env.DB.prepare("SELECT 1 FROM time_slots WHERE start_time = ?").bind(start_time).first()).toBeNull();
  });

  it("a slot update whose entry cannot be written changes nothing (503 storage_unavailable)", async () => {
    const slot = await newSlot();
    const response = await whileAuditFails(() => asAdmin<ErrorBody>("PUT", `/admin/slots/${slot.id}`, { max_capacity: 20 }));
    expect(response.status).toBe(503);
    expect(response.body.code).toBe("storage_unavailable");
    expect(await slotRow(slot.id)).toEqual({ max_capacity: 10, deleted_at: null });
  });

  it("a slot delete whose entry cannot be written deletes nothing and cancels no booking", async () => {
    const slotId = await createSlot({ capacity: 5 });
    const [user] = await createUsers(1);
    expect((await book(user, slotId)).status).toBe(201);
    const response = await whileAuditFails(() => asAdmin<ErrorBody>("DELETE", `/admin/slots/${slotId}`));
    expect(response.status).toBe(503);
    expect(await slotRow(slotId)).toEqual({ max_capacity: 5, deleted_at: null });
    const live = await env.DB.prepare("SELECT COUNT(*) AS n FROM bookings WHERE time_slot_id = ? AND status = 'BOOKED'").bind(slotId).first<{ n: number }>();
    expect(live!.n).toBe(1);
  });

  it("an admin's cancellation whose entry cannot be written cancels nothing", async () => {
    const slotId = await createSlot();
    const [owner] = await createUsers(1);
    const booking = await book(owner, slotId);
    expect((await whileAuditFails(() => asAdmin("DELETE", `/bookings/${booking.body.id}`))).status).toBe(503);
    const row = await env.DB.prepare("SELECT status FROM bookings WHERE id = ?").bind(booking.body.id).first<{ status: string }>();
    expect(row!.status).toBe("BOOKED");
  });

  it("a role change whose entry cannot be written changes no role", async () => {
    const user = await createUser();
    expect((await whileAuditFails(() => asAdmin("PUT", `/admin/users/${user.id}/role`, { role: "ADMIN" }))).status).toBe(503);
    expect((await env.DB.prepare("SELECT role FROM users WHERE id = ?").bind(user.id).first<{ role: string }>())!.role).toBe("USER");
  });
});

describe("GET /admin/audit", () => {
  /** Writes `count` entries straight to D1, the way scripts/admin.ts does (actor NULL). */
  async function insertEntries(count: number): Promise<void> {
    const statements = Array.from({ length: count }, (_, i) =>
      env.DB.prepare(
        "INSERT INTO audit_log (actor_id, action, target, before, after, created_at) VALUES (NULL, 'user.promote', ?, '{\"role\":\"USER\"}', '{\"role\":\"ADMIN\"}', '2030-01-01T00:00:00Z')",
      ).bind(`user:${i}`),
    );
    await env.DB.batch(statements);
  }

  it("lists entries newest first, 50 by default, as {id, actor_id, action, target, before, after, created_at}", async () => {
    await insertEntries(60);
    const name = uniqueName("Newest");
    await asAdmin("POST", "/admin/categories", { name });
    const { status, body } = await asAdmin<AuditEntry[]>("GET", "/admin/audit");
    expect(status).toBe(200);
    expect(body).toHaveLength(50);
    expect(body[0]).toStrictEqual({
      id: expect.any(Number),
      actor_id: admin.id,
      action: "category.create",
      target: expect.stringMatching(/^category:\d+$/),
      before: null,
      after: { name },
      created_at: expect.stringMatching(UTC_INSTANT),
    });
    expect(body[1]).toMatchObject({ actor_id: null, action: "user.promote", before: { role: "USER" }, after: { role: "ADMIN" } });
    const ids = body.map((entry) => entry.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
  });

  it.each([1, 7, 500])("returns at most ?limit=%i entries", async (limit) => {
    await insertEntries(limit);
    const { status, body } = await asAdmin<AuditEntry[]>("GET", `/admin/audit?limit=${limit}`);
    expect(status).toBe(200);
    expect(body).toHaveLength(limit);
  });

  it.each(["0", "501", "99999999999999999999", "-1", "abc", "1.5"])("refuses ?limit=%s with 422 validation_error naming limit", async (limit) => {
    const response = await asAdmin<ErrorBody>("GET", `/admin/audit?limit=${limit}`);
    expect(response.status).toBe(422);
    expect(response.body.code).toBe("validation_error");
    expect(response.body.errors?.map((error) => error.field)).toEqual(["limit"]);
  });
});
