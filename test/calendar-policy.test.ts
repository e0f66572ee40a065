import ICAL from "ical.js";
import { beforeAll, describe, expect, it } from "vitest";
import type { Policy } from "../src/categories/policy";
import { book, joinWaitlist } from "./support/bookings";
import { api } from "./support/client";
import { createUser, uniqueName, type TestUser } from "./support/users";

// Issue 21.4: a calendar event names the cancellation deadline of its place (the category's
// cancel_until_minutes_before) in its DESCRIPTION, in the slot's own time zone, in the user's
// feed and in a slot's one-off event file; parsed with ical.js, an independent parser.

let admin: TestUser;
beforeAll(async () => {
  admin = await createUser("ADMIN");
});

async function categoryWith(policy: Partial<Policy>): Promise<number> {
  const { status, body } = await api<{ id: number }>("POST", "/admin/categories", { token: admin.token, body: { name: uniqueName("Calendar"), ...policy } });
  expect(status).toBe(201);
  return body.id;
}

/** A slot of an hour from `start`, shown in Europe/Berlin. */
async function berlinSlot(categoryId: number, start: string, capacity = 5): Promise<number> {
  const end = new Date(Date.parse(start) + 3_600_000).toISOString().replace(/\.\d{3}Z$/, "Z");
  const { status, body } = await api<{ id: number }>("POST", "/admin/slots", {
    token: admin.token,
    body: { category_id: categoryId, start_time: start, end_time: end, max_capacity: capacity, timezone: "Europe/Berlin" },
  });
  expect(status).toBe(201);
  return body.id;
}

/** Each VEVENT of the ICS at `path` as [UID, DESCRIPTION, SEQUENCE]. */
async function descriptionsAt(path: string): Promise<[string, string | null, number][]> {
  const response = await api<string>("GET", path, { headers: { "Cache-Control": "no-cache" } });
  expect(response.status).toBe(200);
  const calendar = new ICAL.Component(ICAL.parse(response.body));
  return calendar
    .getAllSubcomponents("vevent")
    .map((event) => [String(event.getFirstPropertyValue("uid")), event.getFirstPropertyValue("description") as string | null, Number(event.getFirstPropertyValue("sequence"))]);
}

async function feedPathOf(user: TestUser): Promise<string> {
  return new URL((await api<{ url: string }>("GET", "/user/calendar-feed", { token: user.token })).body.url).pathname;
}

describe("the cancellation deadline in a calendar event", () => {
  it("the feed's booked place names it in the slot's zone, across DST (23:00 in winter, 00:00 in summer for 12 h before 10:00 UTC); a waitlist place names it for once it is booked", async () => {
    const categoryId = await categoryWith({ cancel_until_minutes_before: 12 * 60 });
    const winter = await berlinSlot(categoryId, "2040-03-01T10:00:00Z");
    const summer = await berlinSlot(categoryId, "2040-07-01T10:00:00Z", 1);
    const user = await createUser();
    const booked = await book(user, winter);
    expect((await book(await createUser(), summer)).status).toBe(201);
    const waiting = await joinWaitlist(user, summer);
    expect(waiting.body.status).toBe("WAITLISTED");
    const events = new Map((await descriptionsAt(await feedPathOf(user))).map(([uid, description]) => [uid, description]));
    expect(events.get(`booking-${booked.body.id}@slotbook`)).toMatch(
      /^Free cancellation until Wed,? 29 Feb 2040,? 23:00 \(Europe\/Berlin\); after that only the organizer can cancel\.$/,
    );
    expect(events.get(`booking-${waiting.body.id}@slotbook`)).toMatch(/^Once booked: free cancellation until Sun,? 1 Jul 2040,? 00:00 \(Europe\/Berlin\);/);
  });

  it("a changed deadline changes the one-off event's DESCRIPTION and raises its SEQUENCE; no deadline reads 'at any time'", async () => {
    const categoryId = await categoryWith({});
    const slotId = await berlinSlot(categoryId, "2040-03-01T10:00:00Z");
    const [[, before, sequence]] = await descriptionsAt(`/slots/${slotId}/event.ics`);
    expect(before).toMatch(/^Free cancellation until Thu,? 1 Mar 2040,? 11:00 \(Europe\/Berlin\);/);
    const changed = await api("PATCH", `/admin/categories/${categoryId}`, { token: admin.token, body: { cancel_until_minutes_before: 24 * 60 } });
    expect(changed.status).toBe(200);
    const [[, after, raised]] = await descriptionsAt(`/slots/${slotId}/event.ics`);
    expect(after).toMatch(/^Free cancellation until Wed,? 29 Feb 2040,? 11:00 \(Europe\/Berlin\);/);
    expect(raised).toBe(sequence + 1);
    expect((await api("PATCH", `/admin/categories/${categoryId}`, { token: admin.token, body: { cancel_until_minutes_before: null } })).status).toBe(200);
    expect((await descriptionsAt(`/slots/${slotId}/event.ics`))[0][1]).toBe("Free cancellation at any time.");
  });
});
