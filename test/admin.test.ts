import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { ErrorBody } from "../src/errors/catalogue";
import type { BookingView } from "../src/views/booking";
import type { SlotView } from "../src/views/slot";
import { api, errorOf, statusCounts } from "./support/client";
import { availableSpotsOf, createSlot, listAllSlots, slotCounts } from "./support/slots";
import { book } from "./support/bookings";
import { createUser, createUsers, type TestUser } from "./support/users";

type NewSlot = { category_id: unknown; start_time: unknown; end_time: unknown; max_capacity: unknown };
type DeleteAnswer = { message: string; cancelled_bookings: number };

const NEW_SLOT = {
  category_id: 1,
  start_time: "2040-01-01T10:00:00Z",
  end_time: "2040-01-01T11:00:00Z",
  max_capacity: 10,
} satisfies NewSlot;

const UNKNOWN_SLOT_ID = 999_999_999;

// Only reads and writes slots, never changes itself, so one admin serves the whole file.
let admin: TestUser;
beforeAll(async () => {
  admin = await createUser("ADMIN");
});

function asAdmin<T>(method: string, path: string, body?: unknown) {
  return api<T>(method, path, { token: admin.token, body });
}

function postSlot<T = SlotView>(fields: Partial<NewSlot> = {}) {
  return asAdmin<T>("POST", "/admin/slots", { ...NEW_SLOT, ...fields });
}

/** A slot made through the API, for tests that need to know its exact times. */
async function newSlot(fields: Partial<NewSlot> = {}): Promise<SlotView> {
  const response = await postSlot(fields);
  expect(response.status).toBe(201);
  return response.body;
}

function putSlot<T = SlotView>(slotId: number | string, changes: unknown) {
  return asAdmin<T>("PUT", `/admin/slots/${slotId}`, changes);
}

function deleteSlot<T = DeleteAnswer>(slotId: number | string) {
  return asAdmin<T>("DELETE", `/admin/slots/${slotId}`);
}

/** Books one place per user, one after the other; returns the bookings. */
async function bookAll(users: TestUser[], slotId: number): Promise<BookingView[]> {
  const bookings: BookingView[] = [];
  for (const user of users) {
    const response = await book(user, slotId);
    expect(response.status).toBe(201);
    bookings.push(response.body);
  }
  return bookings;
}

function failingFields(response: { body: unknown }) {
  return (response.body as Partial<ErrorBody>).errors?.map((error) => error.field);
}

async function listedSlot(slotId: number): Promise<SlotView | undefined> {
  return (await listAllSlots()).find((slot) => slot.id === slotId);
}

async function bookingRows(slotId: number) {
  const { results } = await env.DB.prepare("SELECT id, status, cancelled_at FROM bookings WHERE time_slot_id = ? ORDER BY id")
    .bind(slotId)
    .all<{ id: number; status: string; cancelled_at: string | null }>();
  return results;
}

describe("POST /admin/slots", () => {
  it("creates a slot: 201 with the slot, available_spots equal to max_capacity, and lists it", async () => {
    const response = await postSlot({ max_capacity: 12, category_id: 2 });
    expect(response.status).toBe(201);
    expect(response.body).toStrictEqual({
      ...NEW_SLOT,
      id: expect.any(Number),
      category_id: 2,
      max_capacity: 12,
      available_spots: 12,
      waitlist_length: 0,
      timezone: "UTC",
      booking_opens_at: null,
      booking_closes_at: null,
      cancellable_until: NEW_SLOT.start_time,
    });
    expect(await listedSlot(response.body.id)).toStrictEqual(response.body);
  });

  it.each([
    ["an offset is converted to UTC", "2030-01-01T12:00:00+02:00", "2030-01-01T10:00:00Z"],
    ["an offset can move the date", "2030-01-01T01:00:00+02:00", "2029-12-31T23:00:00Z"],
    ["a negative offset is converted to UTC", "2030-01-01T05:00:00-05:00", "2030-01-01T10:00:00Z"],
    ["a time without zone is taken as UTC", "2030-01-01T10:00:00", "2030-01-01T10:00:00Z"],
    ["fractional seconds are dropped", "2030-01-01T10:00:00.987Z", "2030-01-01T10:00:00Z"],
  ])("stores and returns start_time in UTC with Z: %s", async (_rule, input, stored) => {
    const slot = await newSlot({ start_time: input, end_time: "2030-01-01T11:00:00Z" });
    expect(slot.start_time).toBe(stored);
    const row = await env.DB.prepare("SELECT start_time FROM time_slots WHERE id = ?").bind(slot.id).first<{ start_time: string }>();
    expect(row?.start_time).toBe(stored);
  });

  it.each([
    ["start_time equal to end_time", "2040-01-01T10:00:00Z", "2040-01-01T10:00:00Z"],
    ["start_time after end_time", "2040-01-01T12:00:00Z", "2040-01-01T11:00:00Z"],
    ["start_time after end_time once both are in UTC", "2040-01-01T10:30:00Z", "2040-01-01T12:00:00+02:00"],
  ])("refuses %s with 422 invalid_time_range", async (_case, start_time, end_time) => {
    expect(errorOf(await postSlot({ start_time, end_time }))).toEqual({ status: 422, code: "invalid_time_range" });
  });

  it.each([0, -1, 10_001, 2.5, "10", null])("refuses max_capacity %j with 422 validation_error", async (max_capacity) => {
    const response = await postSlot({ max_capacity });
    expect(errorOf(response)).toEqual({ status: 422, code: "validation_error" });
    expect(failingFields(response)).toEqual(["max_capacity"]);
  });

  it.each([1, 10_000])("accepts max_capacity %i, the bounds of 1..10000", async (max_capacity) => {
    const slot = await newSlot({ max_capacity });
    expect(slot).toMatchObject({ max_capacity, available_spots: max_capacity });
  });

  it("refuses an unknown category_id with 422 unknown_category naming the field", async () => {
    const response = await postSlot({ category_id: 999_999 });
    expect(errorOf(response)).toEqual({ status: 422, code: "unknown_category" });
    expect(failingFields(response)).toEqual(["category_id"]);
  });

  it.each(Object.keys(NEW_SLOT))("refuses a body without %s with 422 validation_error naming it", async (field) => {
    const body: Record<string, unknown> = { ...NEW_SLOT };
    delete body[field];
    const response = await asAdmin("POST", "/admin/slots", body);
    expect(errorOf(response)).toEqual({ status: 422, code: "validation_error" });
    expect(failingFields(response)).toEqual([field]);
  });

  it.each(["2030-02-30T10:00:00Z", "2030-01-01T25:00:00Z", "2030-01-01", "not a date", "", 1_893_492_000])(
    "refuses start_time %j with 422 validation_error",
    async (start_time) => {
      const response = await postSlot({ start_time });
      expect(errorOf(response)).toEqual({ status: 422, code: "validation_error" });
      expect(failingFields(response)).toEqual(["start_time"]);
    },
  );
});

describe("admin routes: who may call them", () => {
  type Request = { method: string; path: string; body?: unknown };
  const routes: [string, (slotId: number) => Request][] = [
    ["POST /admin/slots", () => ({ method: "POST", path: "/admin/slots", body: NEW_SLOT })],
    ["PUT /admin/slots/{id}", (slotId) => ({ method: "PUT", path: `/admin/slots/${slotId}`, body: { max_capacity: 3 } })],
    ["DELETE /admin/slots/{id}", (slotId) => ({ method: "DELETE", path: `/admin/slots/${slotId}` })],
  ];

  /** Sends the route's request with `token`; checks the refusal left an existing slot as it was. */
  async function refusedRequest(request: (slotId: number) => Request, token: string | undefined) {
    const slotId = await createSlot({ capacity: 5 });
    const { method, path, body } = request(slotId);
    const response = await api(method, path, { token, body });
    expect(await listedSlot(slotId)).toMatchObject({ id: slotId, max_capacity: 5 });
    return response;
  }

  it.each(routes)("%s: a USER gets 403 forbidden", async (_route, request) => {
    const user = await createUser("USER");
    expect(errorOf(await refusedRequest(request, user.token))).toEqual({ status: 403, code: "forbidden" });
  });

  it.each(routes)("%s: an anonymous caller gets 401 not_authenticated", async (_route, request) => {
    expect(errorOf(await refusedRequest(request, undefined))).toEqual({ status: 401, code: "not_authenticated" });
  });

  it.each(routes)("%s: an admin demoted in D1 after the token was issued gets 403 forbidden", async (_route, request) => {
    const demoted = await createUser("ADMIN");
    await env.DB.prepare("UPDATE users SET role = 'USER' WHERE id = ?").bind(demoted.id).run();
    expect(errorOf(await refusedRequest(request, demoted.token))).toEqual({ status: 403, code: "forbidden" });
  });
});

describe("PUT /admin/slots/{id}", () => {
  it.each([
    ["category_id", 3, 3],
    ["start_time", "2040-01-01T10:30:00+01:00", "2040-01-01T09:30:00Z"],
    ["end_time", "2040-01-01T12:00:00", "2040-01-01T12:00:00Z"],
    ["max_capacity", 15, 15],
  ])("changes only the field given (and, for start_time, the policy instants it sets): %s", async (field, value, stored) => {
    const before = await newSlot();
    const response = await putSlot(before.id, { [field]: value });
    const moved = field === "start_time" ? { cancellable_until: stored } : {};
    const expected = { ...before, [field]: stored, ...moved, available_spots: field === "max_capacity" ? stored : before.available_spots };
    expect(response.status).toBe(200);
    expect(response.body).toStrictEqual(expected);
    expect(await listedSlot(before.id)).toStrictEqual(expected);
  });

  it("raising max_capacity adds the new places to available_spots", async () => {
    const slotId = await createSlot({ capacity: 3 });
    await bookAll(await createUsers(2), slotId);
    const response = await putSlot(slotId, { max_capacity: 5 });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ max_capacity: 5, available_spots: 3 });
    expect(await availableSpotsOf(slotId)).toBe(3);
  });

  it("lowering max_capacity below the booked count is 409 capacity_below_bookings naming the count, and changes nothing", async () => {
    const before = await newSlot({ max_capacity: 5 });
    await bookAll(await createUsers(3), before.id);
    const response = await putSlot<ErrorBody>(before.id, { max_capacity: 2, start_time: "2040-01-01T09:00:00Z" });
    expect(errorOf(response)).toEqual({ status: 409, code: "capacity_below_bookings" });
    expect(response.body.detail).toMatch(/\b3\b/);
    expect(await listedSlot(before.id)).toStrictEqual({ ...before, available_spots: 2 });
    expect(await slotCounts(before.id)).toEqual({ max_capacity: 5, booked_count: 3, booked_rows: 3 });
  });

  it("lowering max_capacity to exactly the booked count fills the slot: the next booking is 409 slot_full", async () => {
    const slotId = await createSlot({ capacity: 5 });
    const [late, ...early] = await createUsers(4);
    await bookAll(early, slotId);
    const response = await putSlot(slotId, { max_capacity: 3 });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ max_capacity: 3, available_spots: 0 });
    expect(errorOf(await book(late, slotId))).toEqual({ status: 409, code: "slot_full" });
  });

  it.each([
    ["start_time after the unchanged end_time", { start_time: "2040-01-01T11:30:00Z" }],
    ["start_time equal to the unchanged end_time", { start_time: "2040-01-01T11:00:00Z" }],
    ["end_time before the unchanged start_time", { end_time: "2040-01-01T09:00:00Z" }],
    ["start_time after end_time, both given", { start_time: "2040-01-01T15:00:00Z", end_time: "2040-01-01T14:00:00Z" }],
  ])("refuses %s with 422 invalid_time_range and changes nothing", async (_case, changes) => {
    const before = await newSlot(); // 10:00 to 11:00
    expect(errorOf(await putSlot(before.id, changes))).toEqual({ status: 422, code: "invalid_time_range" });
    expect(await listedSlot(before.id)).toStrictEqual(before);
  });

  it("allows moving both times past the old end_time in one request; the cancellation deadline moves with the start", async () => {
    const before = await newSlot(); // 10:00 to 11:00
    const response = await putSlot(before.id, { start_time: "2040-01-01T14:00:00Z", end_time: "2040-01-01T15:00:00Z" });
    expect(response.status).toBe(200);
    expect(response.body).toStrictEqual({
      ...before,
      start_time: "2040-01-01T14:00:00Z",
      end_time: "2040-01-01T15:00:00Z",
      cancellable_until: "2040-01-01T14:00:00Z",
    });
  });

  it.each([
    ["an empty body", {}, "validation_error"],
    ["max_capacity 0", { max_capacity: 0 }, "validation_error"],
    ["max_capacity 10001", { max_capacity: 10_001 }, "validation_error"],
    ["an invalid date", { start_time: "2030-02-30T10:00:00Z" }, "validation_error"],
    ["an unknown category_id", { category_id: 999_999 }, "unknown_category"],
  ])("refuses %s with 422 %s", async (_case, changes, code) => {
    const before = await newSlot();
    expect(errorOf(await putSlot(before.id, changes))).toEqual({ status: 422, code });
    expect(await listedSlot(before.id)).toStrictEqual(before);
  });

  it("answers an unknown slot with 404 slot_not_found", async () => {
    expect(errorOf(await putSlot(UNKNOWN_SLOT_ID, { max_capacity: 5 }))).toEqual({ status: 404, code: "slot_not_found" });
  });
});

describe.each([
  ["PUT", (id: string) => putSlot(id, { max_capacity: 5 })],
  ["DELETE", (id: string) => deleteSlot(id)],
])("%s /admin/slots/{id} with a path id that is not a positive integer", (_method, send) => {
  it.each(["abc", "1.5", "0", "-1", "1e3"])("refuses %j with 422 validation_error", async (id) => {
    expect(errorOf(await send(id))).toEqual({ status: 422, code: "validation_error" });
  });
});

describe("DELETE /admin/slots/{id}", () => {
  it('answers 200 {"message": "Slot deleted"} with the number of bookings it cancelled', async () => {
    const slotId = await createSlot();
    await bookAll(await createUsers(2), slotId);
    const response = await deleteSlot(slotId);
    expect(response.status).toBe(200);
    expect(response.body).toStrictEqual({ message: "Slot deleted", cancelled_bookings: 2 });
  });

  it("cancels the slot's BOOKED bookings and brings booked_count to 0", async () => {
    const slotId = await createSlot({ capacity: 5 });
    const users = await createUsers(3);
    const [withdrawn] = await bookAll(users, slotId);
    expect((await api("DELETE", `/bookings/${withdrawn.id}`, { token: users[0].token })).status).toBe(200);

    expect((await deleteSlot(slotId)).body.cancelled_bookings).toBe(2);
    const rows = await bookingRows(slotId);
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row).toMatchObject({ status: "CANCELLED", cancelled_at: expect.any(String) });
    expect(await slotCounts(slotId)).toMatchObject({ booked_count: 0, booked_rows: 0 });
  });

  it("removes the slot from GET /slots", async () => {
    const slotId = await createSlot();
    expect(await listedSlot(slotId)).toBeDefined();
    await deleteSlot(slotId);
    expect(await listedSlot(slotId)).toBeUndefined();
  });

  it("makes booking the slot 404 slot_not_found", async () => {
    const slotId = await createSlot();
    await deleteSlot(slotId);
    expect(errorOf(await book(await createUser(), slotId))).toEqual({ status: 404, code: "slot_not_found" });
  });

  it.each([
    ["deleting it again", (slotId: number) => deleteSlot(slotId)],
    ["changing it", (slotId: number) => putSlot(slotId, { max_capacity: 20 })],
  ])("answers %s with 404 slot_not_found", async (_case, send) => {
    const slotId = await createSlot();
    expect((await deleteSlot(slotId)).status).toBe(200);
    expect(errorOf(await send(slotId))).toEqual({ status: 404, code: "slot_not_found" });
  });

  it("leaves the owner's booking already cancelled: cancelling it is 409 already_cancelled", async () => {
    const slotId = await createSlot();
    const owner = await createUser();
    const [booking] = await bookAll([owner], slotId);
    await deleteSlot(slotId);
    expect(errorOf(await api("DELETE", `/bookings/${booking.id}`, { token: owner.token }))).toEqual({
      status: 409,
      code: "already_cancelled",
    });
  });

  it("answers an unknown slot with 404 slot_not_found", async () => {
    expect(errorOf(await deleteSlot(UNKNOWN_SLOT_ID))).toEqual({ status: 404, code: "slot_not_found" });
  });
});

describe("admin changes racing with bookings", () => {
  it("lowering capacity 20 -> 10 while 30 users book keeps booked_count == BOOKED rows <= max_capacity", async () => {
    const slotId = await createSlot({ capacity: 20 });
    const users = await createUsers(30);
    // The change is sent in the middle of the bookings.
    const early = users.slice(0, 15).map((user) => book(user, slotId));
    const change = putSlot<SlotView | ErrorBody>(slotId, { max_capacity: 10 });
    const late = users.slice(15).map((user) => book(user, slotId));
    const [changed, ...booked] = await Promise.all([change, ...early, ...late]);

    const counts = await slotCounts(slotId);
    expect(counts.booked_count).toBe(counts.booked_rows);
    expect(counts.booked_rows).toBeLessThanOrEqual(counts.max_capacity);
    expect(statusCounts(booked)[201]).toBe(counts.booked_rows);
    expect(await availableSpotsOf(slotId)).toBe(counts.max_capacity - counts.booked_count);
    // 30 users asked, so the slot ends full at whichever capacity won.
    if (changed.status === 200) {
      expect(counts).toMatchObject({ max_capacity: 10, booked_rows: 10 });
    } else {
      expect(errorOf(changed)).toEqual({ status: 409, code: "capacity_below_bookings" });
      expect(counts).toMatchObject({ max_capacity: 20, booked_rows: 20 });
    }
    for (const refused of booked.filter((response) => response.status !== 201)) {
      expect(errorOf(refused)).toEqual({ status: 409, code: "slot_full" });
    }
  });

  it("deleting a slot while 20 users book it leaves no BOOKED booking, and every 201 booking CANCELLED", async () => {
    const slotId = await createSlot({ capacity: 50 });
    const users = await createUsers(20);
    const early = users.slice(0, 10).map((user) => book(user, slotId));
    const deletion = deleteSlot(slotId);
    const late = users.slice(10).map((user) => book(user, slotId));
    const [deleted, ...booked] = await Promise.all([deletion, ...early, ...late]);

    expect(deleted.status).toBe(200);
    const succeeded = booked.filter((response) => response.status === 201).map((response) => response.body.id);
    expect(deleted.body.cancelled_bookings).toBe(succeeded.length);
    for (const refused of booked.filter((response) => response.status !== 201)) {
      expect(errorOf(refused)).toEqual({ status: 404, code: "slot_not_found" });
    }
    const rows = await bookingRows(slotId);
    expect(rows.map((row) => row.id)).toEqual(succeeded.sort((a, b) => a - b));
    expect(rows.every((row) => row.status === "CANCELLED")).toBe(true);
    expect(await slotCounts(slotId)).toMatchObject({ booked_count: 0, booked_rows: 0 });
  });
});

describe("PUT /admin/users/{user_id}/role", () => {
  type UserView = { id: number; email: string; role: string };

  function putRole<T = UserView>(userId: number | string, role: unknown, token = admin.token) {
    return api<T>("PUT", `/admin/users/${userId}/role`, { token, body: { role } });
  }

  async function storedRole(userId: number) {
    return (await env.DB.prepare("SELECT role FROM users WHERE id = ?").bind(userId).first<{ role: string }>())?.role;
  }

  it("promotes a USER: 200 {id, email, role: ADMIN}, and their existing token passes admin routes at once", async () => {
    const user = await createUser("USER");
    expect((await api("GET", "/admin/audit", { token: user.token })).status).toBe(403);
    const response = await putRole(user.id, "ADMIN");
    expect(response.status).toBe(200);
    expect(response.body).toStrictEqual({ id: user.id, email: user.email, role: "ADMIN" });
    expect(await storedRole(user.id)).toBe("ADMIN");
    expect((await api("GET", "/admin/audit", { token: user.token })).status).toBe(200);
  });

  it("demotes an ADMIN: their existing token gets 403 on admin routes at once", async () => {
    const other = await createUser("ADMIN");
    expect((await putRole(other.id, "USER")).body.role).toBe("USER");
    expect(errorOf(await api("GET", "/admin/audit", { token: other.token }))).toEqual({ status: 403, code: "forbidden" });
  });

  it("answers an unknown user with 404 user_not_found", async () => {
    expect(errorOf(await putRole(999_999_999, "ADMIN"))).toEqual({ status: 404, code: "user_not_found" });
  });

  it.each(["ROOT", "admin", "", null, undefined])("refuses the role %j with 422 validation_error naming role, and changes nothing", async (role) => {
    const user = await createUser("USER");
    const response = await putRole(user.id, role);
    expect(errorOf(response)).toEqual({ status: 422, code: "validation_error" });
    expect(failingFields(response)).toEqual(["role"]);
    expect(await storedRole(user.id)).toBe("USER");
  });

  it.each(["abc", "0", "-1"])("refuses the path id %j with 422 validation_error", async (id) => {
    expect(errorOf(await api("PUT", `/admin/users/${id}/role`, { token: admin.token, body: { role: "ADMIN" } }))).toEqual({
      status: 422,
      code: "validation_error",
    });
  });
});
