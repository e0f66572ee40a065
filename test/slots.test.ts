import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { keyIdOf } from "../src/auth/jwt";
import type { ErrorBody } from "../src/errors/catalogue";
import type { SlotView } from "../src/views/slot";
import { api, errorOf, FRESH, statusCounts } from "./support/client";
import { availableSpotsOf, createSlot, hoursFromNow, listAllSlots, slotCounts } from "./support/slots";
import { book } from "./support/bookings";
import { createUser, createUsers, type TestUser } from "./support/users";
import { nowSeconds, signed, validClaims } from "./support/tokens";

// Storage is shared by the tests of this file, so each test places its slots in a year of its own
// and reads them back through `from`/`to` (or by id), never relying on the whole list's content.

const SLOT_FIELDS = [
  "available_spots",
  "booking_closes_at",
  "booking_opens_at",
  "cancellable_until",
  "category_id",
  "end_time",
  "id",
  "max_capacity",
  "start_time",
  "timezone",
  "waitlist_length",
];
const UTC_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** GET /slots read from D1 (past the micro-cache, as test/caching.test.ts does not). */
function getSlots<T = SlotView[]>(query: Record<string, string> = {}, token?: string) {
  const search = new URLSearchParams(query).toString();
  return api<T>("GET", search ? `/slots?${search}` : "/slots", { token, headers: FRESH });
}

/** `from`/`to` covering one calendar year, so that a test sees only its own slots. */
function year(y: number) {
  return { from: `${y}-01-01T00:00:00Z`, to: `${y + 1}-01-01T00:00:00Z` };
}

async function idsListed(query: Record<string, string>): Promise<number[]> {
  const { status, body } = await getSlots(query);
  expect(status).toBe(200);
  return body.map((slot) => slot.id);
}

describe("GET /slots: shape", () => {
  it("lists a slot as exactly {id, category_id, start_time, end_time, max_capacity, available_spots, waitlist_length, timezone} and its category's policy instants", async () => {
    const id = await createSlot({ start: "2041-03-01T10:00:00Z", end: "2041-03-01T11:30:00Z", capacity: 7, categoryId: 2 });
    const { status, body } = await getSlots();
    expect(status).toBe(200);
    expect(body.find((slot) => slot.id === id)).toStrictEqual({
      id,
      category_id: 2,
      start_time: "2041-03-01T10:00:00Z",
      end_time: "2041-03-01T11:30:00Z",
      max_capacity: 7,
      available_spots: 7,
      waitlist_length: 0,
      timezone: "UTC",
      booking_opens_at: null,
      booking_closes_at: null,
      cancellable_until: "2041-03-01T10:00:00Z",
    });
  });

  it("gives every slot only the contract's fields, waitlist_length and the policy instants, with times as UTC YYYY-MM-DDTHH:MM:SSZ", async () => {
    await createSlot({ startsInHours: 5 });
    const { body } = await getSlots();
    expect(body.length).toBeGreaterThan(0);
    for (const slot of body) {
      expect(Object.keys(slot).sort()).toEqual(SLOT_FIELDS);
      expect(slot.start_time).toMatch(UTC_INSTANT);
      expect(slot.end_time).toMatch(UTC_INSTANT);
    }
  });

  it("is open to anonymous callers", async () => {
    const id = await createSlot();
    expect((await listAllSlots()).map((slot) => slot.id)).toContain(id);
  });
});

describe("GET /slots: order", () => {
  it("orders slots by start_time, not by creation order", async () => {
    const third = await createSlot({ start: "2042-05-03T09:00:00Z" });
    const first = await createSlot({ start: "2042-05-01T09:00:00Z" });
    const second = await createSlot({ start: "2042-05-02T09:00:00Z" });
    expect(await idsListed(year(2042))).toEqual([first, second, third]);
  });

  it("keeps the whole unfiltered list in start_time order", async () => {
    await createSlot({ start: "2042-06-02T00:00:00Z" });
    await createSlot({ start: "2042-06-01T00:00:00Z" });
    const starts = (await getSlots()).body.map((slot) => slot.start_time);
    expect(starts).toEqual([...starts].sort());
  });
});

describe("GET /slots?categories", () => {
  it("lists only the slots of the categories given", async () => {
    const [fitness, consultation, workshop] = [
      await createSlot({ start: "2043-01-10T10:00:00Z", categoryId: 1 }),
      await createSlot({ start: "2043-01-11T10:00:00Z", categoryId: 2 }),
      await createSlot({ start: "2043-01-12T10:00:00Z", categoryId: 3 }),
    ];
    expect(await idsListed({ ...year(2043), categories: "1,2" })).toEqual([fitness, consultation]);
    expect(await idsListed({ ...year(2043), categories: "3" })).toEqual([workshop]);
  });

  it("answers an unknown category id with an empty list", async () => {
    await createSlot({ start: "2043-02-01T10:00:00Z" });
    const { status, body } = await getSlots({ categories: "999999" });
    expect({ status, body }).toEqual({ status: 200, body: [] });
  });

  it.each(["abc", "1,,2", "", "1,", ",1", "-1", "1.5", "1;2"])("refuses categories=%j with 422 validation_error", async (categories) => {
    const response = await getSlots<ErrorBody>({ categories });
    expect(errorOf(response)).toEqual({ status: 422, code: "validation_error" });
    expect(response.body.errors?.map((error) => error.field)).toEqual(["categories"]);
  });
});

describe("GET /slots?from&to", () => {
  // Slots starting at 10:00, 11:00 and 12:00 UTC on one day: `from` is inclusive, `to` exclusive.
  const DAY = "2044-06-01";
  let ten: number, eleven: number, noon: number;
  beforeAll(async () => {
    ten = await createSlot({ start: `${DAY}T10:00:00Z` });
    eleven = await createSlot({ start: `${DAY}T11:00:00Z` });
    noon = await createSlot({ start: `${DAY}T12:00:00Z` });
  });

  it("keeps slots with start_time >= from and < to", async () => {
    expect(await idsListed({ from: `${DAY}T10:00:00Z`, to: `${DAY}T12:00:00Z` })).toEqual([ten, eleven]);
  });

  it("accepts from alone and to alone", async () => {
    expect(await idsListed({ from: `${DAY}T10:30:00Z`, to: `${DAY}T23:00:00Z` })).toEqual([eleven, noon]);
    expect((await idsListed({ to: `${DAY}T11:00:00Z` })).slice(-1)).toEqual([ten]);
    expect((await idsListed({ from: `${DAY}T11:00:01Z` })).slice(0, 1)).toEqual([noon]);
  });

  it.each([
    ["UTC with Z", `${DAY}T10:00:00Z`, `${DAY}T12:00:00Z`],
    ["a positive offset", `${DAY}T12:00:00+02:00`, `${DAY}T14:00:00+02:00`],
    ["a negative offset", `${DAY}T05:00:00-05:00`, `${DAY}T07:00:00-05:00`],
    ["no zone, taken as UTC", `${DAY}T10:00:00`, `${DAY}T12:00:00`],
  ])("accepts from/to given in %s", async (_zone, from, to) => {
    expect(await idsListed({ from, to })).toEqual([ten, eleven]);
  });

  it.each([
    ["from equal to to", `${DAY}T10:00:00Z`, `${DAY}T10:00:00Z`],
    ["from after to", `${DAY}T12:00:00Z`, `${DAY}T10:00:00Z`],
    ["from equal to to once in UTC", `${DAY}T12:00:00+02:00`, `${DAY}T10:00:00Z`],
  ])("refuses %s with 422 invalid_time_range", async (_case, from, to) => {
    expect(errorOf(await getSlots({ from, to }))).toEqual({ status: 422, code: "invalid_time_range" });
  });

  const invalidInstants = ["2030-02-30T10:00:00Z", "2030-13-01T10:00:00Z", "2030-01-01T24:00:00Z", "2030-01-01", "tomorrow", ""];
  it.each(["from", "to"].flatMap((param) => invalidInstants.map((value) => [param, value])))(
    "refuses %s=%j with 422 validation_error",
    async (param, value) => {
      const response = await getSlots<ErrorBody>({ [param]: value });
      expect(errorOf(response)).toEqual({ status: 422, code: "validation_error" });
      expect(response.body.errors?.map((error) => error.field)).toEqual([param]);
    },
  );
});

describe("GET /slots: available_spots", () => {
  it("is max_capacity minus the live bookings, and a cancellation gives the place back", async () => {
    const slotId = await createSlot({ capacity: 3 });
    expect(await availableSpotsOf(slotId)).toBe(3);
    const [alice, bob] = await createUsers(2);
    const aliceBooking = await book(alice, slotId);
    expect((await book(bob, slotId)).status).toBe(201);
    expect(await availableSpotsOf(slotId)).toBe(1);

    const cancelled = await api("DELETE", `/bookings/${aliceBooking.body.id}`, { token: alice.token });
    expect(cancelled.status).toBe(200);
    expect(await availableSpotsOf(slotId)).toBe(2);
  });

  it("never goes below zero when more users book than there are places", async () => {
    const slotId = await createSlot({ capacity: 2 });
    const users = await createUsers(5);
    const responses = await Promise.all(users.map((user) => book(user, slotId)));
    expect(statusCounts(responses)).toEqual({ 201: 2, 409: 3 });
    expect(await availableSpotsOf(slotId)).toBe(0);
    expect(await slotCounts(slotId)).toEqual({ max_capacity: 2, booked_count: 2, booked_rows: 2 });
  });
});

describe("GET /slots: deleted slots", () => {
  it("does not list a deleted slot, filtered or not", async () => {
    const admin = await createUser("ADMIN");
    const kept = await createSlot({ start: "2045-04-01T10:00:00Z" });
    const deleted = await createSlot({ start: "2045-04-02T10:00:00Z" });
    expect((await api("DELETE", `/admin/slots/${deleted}`, { token: admin.token })).status).toBe(200);

    expect(await idsListed(year(2045))).toEqual([kept]);
    expect(await idsListed({ ...year(2045), categories: "1" })).toEqual([kept]);
    expect(await idsListed({})).not.toContain(deleted);
  });
});

describe("GET /slots: authentication", () => {
  // Each token is valid in every respect (a real user, kid, iss, aud, exp) but the one under test.
  it.each<[string, (user: TestUser) => Promise<string>]>([
    ["a token that is not a JWT", async () => "Bearer not-a-jwt"],
    [
      "a token naming the server's key but signed with another",
      async (user) => `Bearer ${await signed(validClaims(user), { secret: "some-other-secret-0123456789", kid: await keyIdOf(env.JWT_SECRET!) })}`,
    ],
    ["an expired token", async (user) => `Bearer ${await signed({ ...validClaims(user), iat: nowSeconds() - 7200, exp: nowSeconds() - 60 })}`],
    ["a scheme other than Bearer", async () => "Basic dXNlcjpwYXNz"],
  ])("refuses %s with 401 invalid_token", async (_case, authorization) => {
    const user = await createUser();
    await createSlot();
    const response = await api<ErrorBody>("GET", "/slots", { headers: { Authorization: await authorization(user) } });
    expect(errorOf(response)).toEqual({ status: 401, code: "invalid_token" });
    expect(response.headers.get("WWW-Authenticate")).toBe("Bearer");
  });

  it("accepts the same kind of token when nothing is wrong with it (the control for the refusals above)", async () => {
    const user = await createUser();
    const response = await api("GET", "/slots", { headers: { Authorization: `Bearer ${await signed(validClaims(user))}` } });
    expect(response.status).toBe(200);
  });

  it("answers a valid token like an anonymous caller when the user has no preferences", async () => {
    const user = await createUser();
    const id = await createSlot({ start: "2046-01-01T10:00:00Z" });
    const signedIn = await getSlots(year(2046), user.token);
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.map((slot) => slot.id)).toEqual([id]);
  });
});

describe("GET /slots: many slots", () => {
  it("lists 100 slots with correct available_spots in one quick answer", async () => {
    const FIRST_HOUR = 10_000;
    const ids = await Promise.all(
      Array.from({ length: 100 }, (_, i) => createSlot({ capacity: (i % 5) + 1, startsInHours: FIRST_HOUR + i })),
    );
    // One booking in every tenth slot.
    const users = await createUsers(10);
    const booked = ids.filter((_, i) => i % 10 === 0);
    expect(statusCounts(await Promise.all(booked.map((slotId, i) => book(users[i], slotId))))).toEqual({ 201: 10 });

    const started = performance.now();
    const { status, body } = await getSlots({ from: hoursFromNow(FIRST_HOUR - 1), to: hoursFromNow(FIRST_HOUR + 100) });
    const elapsedMs = performance.now() - started;

    expect(status).toBe(200);
    expect(body.map((slot) => slot.id)).toEqual(ids);
    body.forEach((slot, i) => {
      expect(slot.max_capacity).toBe((i % 5) + 1);
      expect(slot.available_spots).toBe(slot.max_capacity - (booked.includes(slot.id) ? 1 : 0));
    });
    expect(elapsedMs).toBeLessThan(2_000);
  });
});
