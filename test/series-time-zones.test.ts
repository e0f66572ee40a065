import { describe, expect, it } from "vitest";
import { expandRecurrence, parseRecurrence } from "../src/slots/series";
import { wallClockToUtc } from "../src/slots/timezone";
import { api, refusedFields } from "./support/client";
import { createUser } from "./support/users";

// Local times of a series as RFC 5545 (3.3.5, 3.8.5.3) reads them, in the zones whose rules are
// hardest: a time a spring switch skips moves forward by the gap; a time an autumn switch repeats
// is its first occurrence; a skipped day gives no second slot at one instant; 30-minute shifts
// (Lord Howe) and a negative DST (Dublin, whose winter time is the "daylight" one in tzdata).
// Expected instants checked against Python's zoneinfo.

const utc = (zone: string, local: string) => new Date(wallClockToUtc(zone, Date.parse(`${local}Z`))).toISOString().slice(0, 19) + "Z";
const expand = (rrule: string, zone: string, firstLocal: string) =>
  expandRecurrence(parseRecurrence(rrule), zone, Date.parse(`${firstLocal}Z`)).map((ms) => new Date(ms).toISOString().slice(0, 19) + "Z");

describe("a local time that a spring switch skips moves forward by the length of the gap", () => {
  it.each([
    ["America/New_York", "2027-03-14T02:30", "2027-03-14T07:30:00Z"], // 03:30 EDT
    ["Europe/Berlin", "2027-03-28T02:30", "2027-03-28T01:30:00Z"], // 03:30 CEST
    ["Australia/Lord_Howe", "2027-10-03T02:15", "2027-10-02T15:45:00Z"], // 02:45 at +11, a 30-minute gap
    ["Europe/Dublin", "2027-03-28T01:30", "2027-03-28T01:30:00Z"], // 02:30 IST
  ])("%s %s is %s", (zone, local, instant) => {
    expect(utc(zone, local)).toBe(instant);
  });
});

describe("a local time that an autumn switch repeats is its first occurrence", () => {
  it.each([
    ["America/New_York", "2027-11-07T01:30", "2027-11-07T05:30:00Z"], // 01:30 EDT
    ["Europe/Berlin", "2027-10-31T02:30", "2027-10-31T00:30:00Z"], // 02:30 CEST
    ["Australia/Lord_Howe", "2027-04-04T01:45", "2027-04-03T14:45:00Z"], // 01:45 at +11, before the 30-minute step back
    ["Europe/Dublin", "2027-10-31T01:30", "2027-10-31T00:30:00Z"], // 01:30 IST
  ])("%s %s is %s", (zone, local, instant) => {
    expect(utc(zone, local)).toBe(instant);
  });
});

describe("series across switches", () => {
  it("Pacific/Apia skipped 30 December 2011: a daily series has no two slots at one instant, and still COUNT of them", () => {
    const starts = expand("FREQ=DAILY;COUNT=4", "Pacific/Apia", "2011-12-28T10:00");
    expect(starts).toEqual(["2011-12-28T20:00:00Z", "2011-12-29T20:00:00Z", "2011-12-30T20:00:00Z", "2011-12-31T20:00:00Z"]);
    expect(new Set(starts).size).toBe(starts.length);
  });

  it("a daily series in Australia/Lord_Howe keeps 09:00 across its 30-minute switch", () => {
    expect(expand("FREQ=DAILY;COUNT=3", "Australia/Lord_Howe", "2027-10-02T09:00")).toEqual([
      "2027-10-01T22:30:00Z", // +10:30
      "2027-10-02T22:00:00Z", // +11 from 3 October
      "2027-10-03T22:00:00Z",
    ]);
  });

  it("a weekly series in Europe/Dublin keeps 09:00 across the negative-DST switch to winter time", () => {
    expect(expand("FREQ=WEEKLY;COUNT=2", "Europe/Dublin", "2027-10-25T09:00")).toEqual(["2027-10-25T08:00:00Z", "2027-11-01T09:00:00Z"]);
  });
});

describe("a series that would start before 1970 in UTC", () => {
  it("Asia/Tokyo 1970-01-01T00:00 (1969-12-31T15:00Z) is refused with 422 naming first_start_local, as POST /admin/slots refuses that instant", async () => {
    const admin = await createUser("ADMIN");
    const series = await api("POST", "/admin/slots/series", {
      token: admin.token,
      body: { category_id: 1, timezone: "Asia/Tokyo", first_start_local: "1970-01-01T00:00", duration_minutes: 60, rrule: "FREQ=DAILY;COUNT=2", max_capacity: 5 },
    });
    expect(refusedFields(series)).toEqual({ status: 422, fields: ["first_start_local"] });
    const slot = await api("POST", "/admin/slots", {
      token: admin.token,
      body: { category_id: 1, start_time: "1970-01-01T00:00:00+09:00", end_time: "1970-01-01T01:00:00+09:00", max_capacity: 5 },
    });
    expect(refusedFields(slot)).toMatchObject({ status: 422, fields: expect.arrayContaining(["start_time"]) });
  });
});
