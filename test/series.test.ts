import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { ErrorBody } from "../src/errors/catalogue";
import { expandRecurrence, parseRecurrence } from "../src/slots/series";
import type { SlotView } from "../src/views/slot";
import { api, errorOf, refusedFields } from "./support/client";
import { createUser, type TestUser } from "./support/users";

// Slot time zones and POST /admin/slots/series: RRULE expansion in local wall-clock time.

let admin: TestUser;
beforeAll(async () => {
  admin = await createUser("ADMIN");
});

const SERIES = {
  category_id: 1,
  timezone: "Europe/Berlin",
  first_start_local: "2027-03-22T09:00",
  duration_minutes: 60,
  rrule: "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=12",
  max_capacity: 8,
};

function postSeries<T = SlotView[]>(fields: Record<string, unknown> = {}) {
  return api<T>("POST", "/admin/slots/series", { token: admin.token, body: { ...SERIES, ...fields } });
}

const countSlots = async () => (await env.DB.prepare("SELECT COUNT(*) AS n FROM time_slots").first<{ n: number }>())!.n;

/** Expands a rule from a local start in a zone, as UTC ISO instants. */
function expand(rrule: string, zone: string, firstLocal: string): string[] {
  return expandRecurrence(parseRecurrence(rrule), zone, Date.parse(`${firstLocal}Z`)).map((ms) => new Date(ms).toISOString().slice(0, 19) + "Z");
}

describe("POST /admin/slots/series", () => {
  it("keeps 09:00 in Europe/Berlin across the March switch: 08:00Z before, 07:00Z after; 12 slots, one audit entry", async () => {
    const response = await postSeries();
    expect(response.status).toBe(201);
    const starts = response.body.map((slot) => slot.start_time);
    expect(starts).toEqual([
      "2027-03-22T08:00:00Z", // Monday, winter time (UTC+1)
      "2027-03-24T08:00:00Z",
      // Clocks go forward on Sunday 2027-03-28.
      "2027-03-29T07:00:00Z",
      "2027-03-31T07:00:00Z",
      "2027-04-05T07:00:00Z",
      "2027-04-07T07:00:00Z",
      "2027-04-12T07:00:00Z",
      "2027-04-14T07:00:00Z",
      "2027-04-19T07:00:00Z",
      "2027-04-21T07:00:00Z",
      "2027-04-26T07:00:00Z",
      "2027-04-28T07:00:00Z",
    ]);
    for (const slot of response.body) {
      expect(slot).toMatchObject({ category_id: 1, max_capacity: 8, available_spots: 8, timezone: "Europe/Berlin" });
      expect(Date.parse(slot.end_time) - Date.parse(slot.start_time)).toBe(3_600_000);
    }
    const ids = response.body.map((slot) => slot.id);
    const audit = await api<{ action: string; target: string; after: { slot_ids: number[]; series: Record<string, unknown> } }[]>(
      "GET",
      "/admin/audit?limit=5",
      { token: admin.token },
    );
    const entries = audit.body.filter((entry) => entry.action === "slot.create_series" && entry.after.slot_ids.includes(ids[0]));
    expect(entries).toHaveLength(1);
    expect(entries[0].target).toBe(`slots:${ids[0]}-${ids[11]}`);
    expect(entries[0].after.slot_ids).toEqual(ids);
    expect(entries[0].after.series).toMatchObject({ rrule: SERIES.rrule, timezone: "Europe/Berlin", first_start_local: "2027-03-22T09:00:00" });
  });

  it("keeps the wall-clock time when clocks go back too (America/New_York, November)", async () => {
    const response = await postSeries({ timezone: "America/New_York", first_start_local: "2027-11-05T18:30", rrule: "FREQ=DAILY;COUNT=3" });
    expect(response.body.map((slot) => slot.start_time)).toEqual(["2027-11-05T22:30:00Z", "2027-11-06T22:30:00Z", "2027-11-07T23:30:00Z"]);
  });

  it("creates up to 500 occurrences in one request", async () => {
    const response = await postSeries({ timezone: "UTC", first_start_local: "2060-01-01T10:00", rrule: "FREQ=DAILY;COUNT=500" });
    expect(response.status).toBe(201);
    expect(response.body).toHaveLength(500);
    expect(new Set(response.body.map((slot) => slot.id)).size).toBe(500);
  });

  it.each([
    ["COUNT over 500", { rrule: "FREQ=DAILY;COUNT=501" }],
    ["an UNTIL that reaches past 500 occurrences", { rrule: "FREQ=DAILY;UNTIL=20300101" }],
  ])("refuses %s with 422 naming rrule, and creates nothing", async (_case, fields) => {
    const before = await countSlots();
    const response = await postSeries<ErrorBody>(fields);
    expect(refusedFields(response)).toEqual({ status: 422, fields: ["rrule"] });
    expect(await countSlots()).toBe(before);
  });

  it.each([
    "FREQ=MONTHLY;COUNT=3",
    "FREQ=WEEKLY;BYDAY=1MO;COUNT=3",
    "FREQ=WEEKLY;BYMONTH=1;COUNT=3",
    "FREQ=WEEKLY;BYDAY=MO",
    "FREQ=WEEKLY;COUNT=3;UNTIL=20270501",
    "FREQ=WEEKLY;COUNT=0",
    "FREQ=WEEKLY;INTERVAL=0;COUNT=2",
    "FREQ=WEEKLY;COUNT=2;COUNT=3",
    "FREQ=WEEKLY;UNTIL=20270231",
    "COUNT=3",
    "nonsense",
    "",
    "FREQ=DAILY;INTERVAL=7;BYDAY=TU;COUNT=3",
  ])("refuses rrule %j with 422 naming rrule", async (rrule) => {
    const response = await postSeries<ErrorBody>({ rrule });
    expect(refusedFields(response)).toEqual({ status: 422, fields: ["rrule"] });
  });

  it.each([
    ["timezone", { timezone: "Mars/Olympus" }],
    ["timezone", { timezone: "+05:00" }],
    ["first_start_local", { first_start_local: "2027-02-30T09:00" }],
    ["first_start_local", { first_start_local: "2027-03-22T09:00Z" }],
    ["duration_minutes", { duration_minutes: 0 }],
    ["max_capacity", { max_capacity: 0 }],
  ])("refuses a bad %s with 422 naming it", async (field, fields) => {
    const response = await postSeries<ErrorBody>(fields);
    expect(refusedFields(response)).toEqual({ status: 422, fields: [field] });
  });

  it("refuses an unknown category with 422 unknown_category, creating nothing and auditing nothing", async () => {
    const before = await countSlots();
    const response = await postSeries<ErrorBody>({ category_id: 999_999 });
    expect(errorOf(response)).toEqual({ status: 422, code: "unknown_category" });
    expect(await countSlots()).toBe(before);
  });

  it("is for admins only", async () => {
    expect((await api("POST", "/admin/slots/series", { token: (await createUser()).token, body: SERIES })).status).toBe(403);
  });
});

describe("RRULE expansion", () => {
  it("WEEKLY with INTERVAL=2 and BYDAY takes every other week, weeks starting on Monday", () => {
    expect(expand("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,FR;COUNT=5", "UTC", "2027-01-06T10:00")).toEqual([
      "2027-01-08T10:00:00Z", // Wednesday start: Tuesday of that week is before it
      "2027-01-19T10:00:00Z",
      "2027-01-22T10:00:00Z",
      "2027-02-02T10:00:00Z",
      "2027-02-05T10:00:00Z",
    ]);
  });

  it("WEEKLY without BYDAY repeats the first start's weekday; DAILY with BYDAY keeps only those days", () => {
    expect(expand("FREQ=WEEKLY;COUNT=3", "UTC", "2027-01-06T10:00")).toEqual(["2027-01-06T10:00:00Z", "2027-01-13T10:00:00Z", "2027-01-20T10:00:00Z"]);
    expect(expand("FREQ=DAILY;BYDAY=SA,SU;COUNT=3", "UTC", "2027-01-06T10:00")).toEqual(["2027-01-09T10:00:00Z", "2027-01-10T10:00:00Z", "2027-01-16T10:00:00Z"]);
  });

  it("UNTIL as a local date is inclusive of that day; as a UTC instant it bounds the start", () => {
    expect(expand("FREQ=DAILY;UNTIL=20270108", "Asia/Tokyo", "2027-01-06T23:30")).toHaveLength(3);
    expect(expand("FREQ=DAILY;UNTIL=20270107T143000Z", "Asia/Tokyo", "2027-01-06T23:30")).toEqual(["2027-01-06T14:30:00Z", "2027-01-07T14:30:00Z"]);
  });

  it("a wall-clock time skipped by the spring switch is taken with the offset before it, as RFC 5545 says", () => {
    // 02:30 does not exist in Berlin on 2027-03-28; it becomes 03:30 summer time = 01:30Z.
    expect(expand("FREQ=DAILY;COUNT=3", "Europe/Berlin", "2027-03-27T02:30")).toEqual(["2027-03-27T01:30:00Z", "2027-03-28T01:30:00Z", "2027-03-29T00:30:00Z"]);
  });

  it("handles half-hour and southern-hemisphere zones (Asia/Kolkata, America/St_Johns, Australia/Sydney)", () => {
    expect(expand("FREQ=DAILY;COUNT=1", "Asia/Kolkata", "2027-06-01T09:00")).toEqual(["2027-06-01T03:30:00Z"]);
    expect(expand("FREQ=DAILY;COUNT=1", "America/St_Johns", "2027-01-01T09:00")).toEqual(["2027-01-01T12:30:00Z"]);
    // Sydney leaves summer time on 2027-04-04: 09:00 is 22:00Z the day before, then 23:00Z.
    expect(expand("FREQ=DAILY;COUNT=2", "Australia/Sydney", "2027-04-03T09:00")).toEqual(["2027-04-02T22:00:00Z", "2027-04-03T23:00:00Z"]);
  });
});

describe("slot time zones", () => {
  const NEW_SLOT = { category_id: 1, start_time: "2030-01-01T10:00:00Z", end_time: "2030-01-01T11:00:00Z", max_capacity: 5 };

  it("defaults to UTC, keeps a valid IANA zone in its canonical spelling, and changes with PUT", async () => {
    const plain = await api<SlotView>("POST", "/admin/slots", { token: admin.token, body: NEW_SLOT });
    expect(plain.body.timezone).toBe("UTC");
    const zoned = await api<SlotView>("POST", "/admin/slots", { token: admin.token, body: { ...NEW_SLOT, timezone: "asia/tokyo" } });
    expect(zoned.status).toBe(201);
    expect(zoned.body.timezone).toBe("Asia/Tokyo");
    // Kept as given, not turned into the older alias that Intl resolves it to (Asia/Calcutta).
    const kolkata = await api<SlotView>("POST", "/admin/slots", { token: admin.token, body: { ...NEW_SLOT, timezone: "Asia/Kolkata" } });
    expect(kolkata.body.timezone).toBe("Asia/Kolkata");
    // Instants stay UTC whatever the zone.
    expect(zoned.body.start_time).toBe("2030-01-01T10:00:00Z");
    const moved = await api<SlotView>("PUT", `/admin/slots/${zoned.body.id}`, { token: admin.token, body: { timezone: "America/Sao_Paulo" } });
    expect(moved.body).toMatchObject({ timezone: "America/Sao_Paulo", start_time: "2030-01-01T10:00:00Z" });
    expect((await api<SlotView>("GET", `/slots/${zoned.body.id}`)).body.timezone).toBe("America/Sao_Paulo");
  });

  it.each(["Mars/Olympus", "+05:30", "", "UTC+2"])("refuses timezone %j with 422 naming timezone", async (timezone) => {
    const response = await api<ErrorBody>("POST", "/admin/slots", { token: admin.token, body: { ...NEW_SLOT, timezone } });
    expect(refusedFields(response)).toEqual({ status: 422, fields: ["timezone"] });
  });

  it.each([
    ["+05:30", "2030-01-01T10:00:00+05:30", "2030-01-01T04:30:00Z"],
    ["-03:30", "2030-01-01T10:00:00-03:30", "2030-01-01T13:30:00Z"],
    ["no zone (taken as UTC)", "2030-01-01T10:00:00", "2030-01-01T10:00:00Z"],
  ])("converts a start with offset %s to UTC", async (_case, start, utc) => {
    const response = await api<SlotView>("POST", "/admin/slots", {
      token: admin.token,
      body: { ...NEW_SLOT, start_time: start, end_time: "2030-01-02T00:00:00Z" },
    });
    expect(response.status).toBe(201);
    expect(response.body.start_time).toBe(utc);
  });
});
