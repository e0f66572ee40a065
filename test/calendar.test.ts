import { env, exports } from "cloudflare:workers";
import ICAL from "ical.js";
import { beforeAll, describe, expect, it } from "vitest";
import { FEED_WINDOW_DAYS } from "../src/calendar/feed";
import { escapeText, foldLine } from "../src/calendar/ics";
import { type ErrorBody } from "../src/errors/catalogue";
import { book, cancel, hold, joinWaitlist } from "./support/bookings";
import { api, errorOf } from "./support/client";
import { createSlot, hoursFromNow } from "./support/slots";
import { createUser, createUsers, uniqueName, type TestUser } from "./support/users";

// ICS feeds, each parsed with ical.js (an independent parser) and checked field by field, and the
// raw text checked for what a parser forgives: CRLF, 75-octet lines, whole UTF-8 characters.

type FeedUrls = { url: string; webcal_url: string };

let admin: TestUser;
beforeAll(async () => {
  admin = await createUser("ADMIN");
});

async function feedUrlsOf(user: TestUser): Promise<FeedUrls> {
  const response = await api<FeedUrls>("GET", "/user/calendar-feed", { token: user.token });
  expect(response.status).toBe(200);
  return response.body;
}

const pathOf = (url: string) => new URL(url).pathname;

/** Fetches an ICS route and checks its raw form; returns the text and the parsed VCALENDAR. */
async function fetchIcs(path: string, headers: Record<string, string> = {}) {
  const response = await api<string>("GET", path, { headers });
  expect(response.status).toBe(200);
  expect(response.headers.get("Content-Type")).toBe("text/calendar; charset=utf-8");
  expectWellFormed(response.body);
  return { response, calendar: new ICAL.Component(ICAL.parse(response.body)) };
}

/** CRLF line ends only; no line over 75 octets; every line whole UTF-8 on its own. */
function expectWellFormed(text: string) {
  expect(text.endsWith("\r\n")).toBe(true);
  expect(text.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/);
  const encoder = new TextEncoder();
  const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  for (const line of text.slice(0, -2).split("\r\n")) {
    const bytes = encoder.encode(line);
    expect(bytes.length).toBeLessThanOrEqual(75);
    // A character split across a fold would leave a lone surrogate, which encodes as U+FFFD.
    expect(strict.decode(bytes)).toBe(line);
    expect(line).not.toContain("\uFFFD");
  }
}

type EventFields = { uid: string; dtstamp: string; start: string; end: string; sequence: number; lastModified: string; status: string; summary: string };

/** The fields of each VEVENT, times as UTC ISO instants; any time not in UTC fails. */
function eventsOf(calendar: ICAL.Component): EventFields[] {
  const utc = (event: ICAL.Component, name: string) => {
    const time = event.getFirstPropertyValue(name) as ICAL.Time;
    expect(time.zone?.tzid, `${name} is UTC`).toBe("UTC");
    return time.toJSDate().toISOString().slice(0, 19) + "Z";
  };
  return calendar.getAllSubcomponents("vevent").map((event) => ({
    uid: event.getFirstPropertyValue("uid") as string,
    dtstamp: utc(event, "dtstamp"),
    start: utc(event, "dtstart"),
    end: utc(event, "dtend"),
    sequence: Number(event.getFirstPropertyValue("sequence")),
    lastModified: utc(event, "last-modified"),
    status: event.getFirstPropertyValue("status") as string,
    summary: event.getFirstPropertyValue("summary") as string,
  }));
}

async function createCategory(name: string): Promise<number> {
  const response = await api<{ id: number }>("POST", "/admin/categories", { token: admin.token, body: { name } });
  expect(response.status).toBe(201);
  return response.body.id;
}

/** Makes a booking look as if it was made, and last changed, at `instant`, with its slot. */
async function backdate(bookingId: number, instant: string) {
  await env.DB.batch([
    env.DB.prepare("UPDATE bookings SET created_at = ?1, modified_at = NULL WHERE id = ?2").bind(instant, bookingId),
    env.DB.prepare("UPDATE time_slots SET modified_at = ?1 WHERE id = (SELECT time_slot_id FROM bookings WHERE id = ?2)").bind(instant, bookingId),
  ]);
}

async function slotEnd(slotId: number): Promise<string> {
  return (await slotTimes(slotId)).end_time;
}

/**
 * A calendar app subscribed to a feed, as Google and Outlook poll one: with the If-Modified-Since
 * of its last copy. A 200 replaces its copy (a subscription carries no deletions: what is absent
 * is gone), a 304 keeps it. It shows every event of its copy, a CANCELLED one struck through.
 */
class SubscribedCalendar {
  #copy: ICAL.Event[] = [];
  #lastModified: string | undefined;

  constructor(readonly path: string) {}

  async sync(): Promise<number> {
    const response = await api<string>("GET", this.path, { headers: this.#lastModified ? { "If-Modified-Since": this.#lastModified } : {} });
    if (response.status === 200) {
      this.#copy = new ICAL.Component(ICAL.parse(response.body)).getAllSubcomponents("vevent").map((event) => new ICAL.Event(event));
      this.#lastModified = response.headers.get("Last-Modified") ?? undefined;
    }
    return response.status;
  }

  /** The events on screen, with the status each is drawn with. */
  shown(): { uid: string; status: string }[] {
    return this.#copy.map((event) => ({ uid: event.uid, status: String(event.component.getFirstPropertyValue("status")) }));
  }
}

async function slotTimes(slotId: number) {
  return (await env.DB.prepare("SELECT start_time, end_time FROM time_slots WHERE id = ?").bind(slotId).first<{ start_time: string; end_time: string }>())!;
}

describe("ICS text: escaping and folding", () => {
  it("escapes backslash, semicolon, comma and line breaks, in that order of precedence", () => {
    expect(escapeText("a\\b;c,d\ne\r\nf")).toBe("a\\\\b\\;c\\,d\\ne\\nf");
  });

  it("folds at 75 octets without splitting an emoji, a 3-octet or a 2-octet character", () => {
    for (const character of ["😀", "€", "é", "x"]) {
      const line = `SUMMARY:${character.repeat(120)}`;
      const folded = foldLine(line);
      expectWellFormed(folded + "\r\n");
      expect(folded.replace(/\r\n /g, "")).toBe(line);
    }
  });

  it("leaves a line of up to 75 octets alone", () => {
    expect(foldLine("X".repeat(75))).toBe("X".repeat(75));
    expect(foldLine("X".repeat(76))).toBe(`${"X".repeat(75)}\r\n X`);
  });
});

describe("GET /user/calendar-feed and rotate", () => {
  it("answers absolute https-or-http and webcal URLs on the request's origin, the same on every call", async () => {
    const user = await createUser();
    const first = await feedUrlsOf(user);
    expect(first.url).toMatch(/^http:\/\/slotbook\.test\/calendar\/[A-Za-z0-9_-]{43}\.ics$/);
    expect(first.webcal_url).toBe(first.url.replace(/^http:/, "webcal:"));
    expect(await feedUrlsOf(user)).toEqual(first);
    const response = await api("GET", "/user/calendar-feed", { token: user.token });
    expect(response.headers.get("Cache-Control")).toBe("no-store");
  });

  it("carries at least 128 random bits and stores only the secret's SHA-256, never the secret", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const secret = pathOf((await feedUrlsOf(alice)).url).slice("/calendar/".length, -".ics".length);
    expect(secret).not.toBe(pathOf((await feedUrlsOf(bob)).url).slice("/calendar/".length, -".ics".length));
    // 43 base64url characters: 256 bits.
    expect(secret.length * 6).toBeGreaterThanOrEqual(128);
    const row = (await env.DB.prepare("SELECT * FROM calendar_feeds WHERE user_id = ?").bind(alice.id).first<Record<string, unknown>>())!;
    expect(JSON.stringify(row)).not.toContain(secret);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret)));
    const expectedHash = btoa(String.fromCharCode(...digest)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    expect(row.secret_hash).toBe(expectedHash);
  });

  it("rotate issues a new URL; the old one answers 404 calendar_feed_not_found at once", async () => {
    const user = await createUser();
    const old = await feedUrlsOf(user);
    expect((await api("GET", pathOf(old.url))).status).toBe(200);
    const rotated = await api<FeedUrls>("POST", "/user/calendar-feed/rotate", { token: user.token });
    expect(rotated.status).toBe(200);
    expect(rotated.body.url).not.toBe(old.url);
    expect(errorOf(await api("GET", pathOf(old.url)))).toEqual({ status: 404, code: "calendar_feed_not_found" });
    expect((await api("GET", pathOf(rotated.body.url))).status).toBe(200);
    expect(await feedUrlsOf(user)).toEqual(rotated.body);
  });

  it("answers 404 for a well-formed secret that no feed has, and 422 for a malformed one", async () => {
    expect((await api<ErrorBody>("GET", `/calendar/${"A".repeat(43)}.ics`)).body.code).toBe("calendar_feed_not_found");
    expect((await api("GET", "/calendar/short.ics")).status).toBe(422);
  });

  it("needs a bearer token", async () => {
    expect((await api("GET", "/user/calendar-feed")).status).toBe(401);
    expect((await api("POST", "/user/calendar-feed/rotate")).status).toBe(401);
  });
});

describe("GET /calendar/{feed_secret}.ics", () => {
  it("holds one VEVENT per live booking, each field as stored; a cancelled booking is not in it", async () => {
    const user = await createUser();
    // A 200-character name with commas, semicolons, a backslash and emoji, all of which need escaping or whole-character folding.
    const base = `${uniqueName("Yoga, Pilates; Stretch \\ 🧘‍♀️🌅")} `;
    const name = base + "é".repeat(200 - base.length);
    expect(name.length).toBe(200);
    const categoryId = await createCategory(name);
    const [kept, dropped] = [await createSlot({ categoryId, startsInHours: 30 }), await createSlot({ categoryId: 2, startsInHours: 40 })];
    const keptBooking = (await book(user, kept)).body;
    const droppedBooking = (await book(user, dropped)).body;
    expect((await cancel(user, droppedBooking.id)).status).toBe(200);

    const { response, calendar } = await fetchIcs(pathOf((await feedUrlsOf(user)).url));
    expect(response.body).toContain("\r\nREFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n");
    expect(calendar.getFirstPropertyValue("version")).toBe("2.0");
    expect(calendar.getFirstPropertyValue("x-wr-calname")).toBe("slotbook bookings");
    expect(calendar.getFirstPropertyValue("name")).toBe("slotbook bookings");
    // ical.js reads VALUE=DURATION as the property's type.
    expect(calendar.getFirstProperty("refresh-interval")!.type).toBe("duration");
    expect(String(calendar.getFirstPropertyValue("refresh-interval"))).toBe("PT1H");
    expect(String(calendar.getFirstPropertyValue("x-published-ttl"))).toBe("PT1H");

    const events = eventsOf(calendar);
    expect(events.map((event) => event.uid)).toEqual([`booking-${keptBooking.id}@slotbook`]);
    expect(response.body).not.toContain(`booking-${droppedBooking.id}@slotbook`);
    const keptTimes = await slotTimes(kept);
    expect(events[0]).toMatchObject({ start: keptTimes.start_time, end: keptTimes.end_time, status: "CONFIRMED", summary: name, sequence: 0 });
    for (const event of events) {
      expect(event.dtstamp).toBe(event.lastModified);
      expect(Date.parse(event.lastModified)).toBeLessThanOrEqual(Date.now());
    }
  });

  it("shows a hold and a waitlist place as TENTATIVE, and a promotion as CONFIRMED with a higher SEQUENCE", async () => {
    const [user, booker] = await createUsers(2);
    const [heldSlot, fullSlot] = [await createSlot({ startsInHours: 30 }), await createSlot({ capacity: 1, startsInHours: 40 })];
    const booking = await book(booker, fullSlot);
    expect((await hold(user, heldSlot)).status).toBe(201);
    expect((await joinWaitlist(user, fullSlot)).status).toBe(202);
    const path = pathOf((await feedUrlsOf(user)).url);
    expect(eventsOf((await fetchIcs(path)).calendar).map(({ status, sequence }) => ({ status, sequence }))).toEqual([
      { status: "TENTATIVE", sequence: 0 },
      { status: "TENTATIVE", sequence: 0 },
    ]);
    await cancel(booker, booking.body.id);
    const [, promoted] = eventsOf((await fetchIcs(path)).calendar);
    expect(promoted.status).toBe("CONFIRMED");
    expect(promoted.sequence).toBeGreaterThan(0);
  });

  it("raises SEQUENCE and LAST-MODIFIED when the slot moves and when D1 is changed directly; a cancellation removes the event", async () => {
    const user = await createUser();
    const slotId = await createSlot({ startsInHours: 50 });
    const booking = (await book(user, slotId)).body;
    const path = pathOf((await feedUrlsOf(user)).url);
    const sequence = async () => eventsOf((await fetchIcs(path)).calendar)[0].sequence;

    const initial = await sequence();
    const moved = await api("PUT", `/admin/slots/${slotId}`, { token: admin.token, body: { start_time: "2039-01-01T08:00:00Z", end_time: "2039-01-01T09:00:00Z" } });
    expect(moved.status).toBe(200);
    const afterMove = await sequence();
    expect(afterMove).toBeGreaterThan(initial);
    // A capacity change does not change the event, nor do other users' bookings.
    expect((await api("PUT", `/admin/slots/${slotId}`, { token: admin.token, body: { max_capacity: 20 } })).status).toBe(200);
    expect(await sequence()).toBe(afterMove);

    await env.DB.prepare("UPDATE time_slots SET end_time = '2039-01-01T09:30:00Z' WHERE id = ?").bind(slotId).run();
    const afterSql = await sequence();
    expect(afterSql).toBeGreaterThan(afterMove);

    expect((await cancel(user, booking.id)).status).toBe(200);
    expect(eventsOf((await fetchIcs(path)).calendar)).toEqual([]);
  });

  it("drops the booking of a deleted slot", async () => {
    const user = await createUser();
    const slotId = await createSlot({ startsInHours: 60 });
    expect((await book(user, slotId)).status).toBe(201);
    const path = pathOf((await feedUrlsOf(user)).url);
    expect(eventsOf((await fetchIcs(path)).calendar)).toHaveLength(1);
    expect((await api("DELETE", `/admin/slots/${slotId}`, { token: admin.token })).status).toBe(200);
    expect(eventsOf((await fetchIcs(path)).calendar)).toEqual([]);
  });

  it(`reaches back ${FEED_WINDOW_DAYS} days: a slot that ended ${FEED_WINDOW_DAYS - 1} days ago is listed, one that ended ${FEED_WINDOW_DAYS + 1} days ago is not`, async () => {
    const user = await createUser();
    const endedDaysAgo = (days: number) => hoursFromNow(-24 * days - 1);
    const [recent, old] = [await createSlot({ start: endedDaysAgo(FEED_WINDOW_DAYS - 1) }), await createSlot({ start: endedDaysAgo(FEED_WINDOW_DAYS + 1) })];
    // Past slots cannot be booked through the API: written as a booking made back then.
    const made = await env.DB.prepare("INSERT INTO bookings (user_id, time_slot_id, status, created_at) VALUES (?1, ?2, 'BOOKED', ?4), (?1, ?3, 'BOOKED', ?4) RETURNING id")
      .bind(user.id, recent, old, endedDaysAgo(FEED_WINDOW_DAYS + 2))
      .all<{ id: number }>();
    for (const booking of made.results) await backdate(booking.id, endedDaysAgo(FEED_WINDOW_DAYS + 2));
    const { calendar, response } = await fetchIcs(pathOf((await feedUrlsOf(user)).url));
    expect(eventsOf(calendar).map((event) => event.uid)).toEqual([`booking-${made.results[0].id}@slotbook`]);
    // The old one left the feed when it crossed the window's edge: that is when the feed last changed.
    const leftAt = Date.parse(await slotEnd(old)) + FEED_WINDOW_DAYS * 86_400_000;
    expect(Date.parse(response.headers.get("Last-Modified")!)).toBe(Math.floor(leftAt / 1000) * 1000);
  });

  it("leaves a calendar app that syncs before and after a cancellation with no event for it, and no crossed-out duplicate after rebooking", async () => {
    const user = await createUser();
    const slotId = await createSlot({ startsInHours: 30 });
    const subscribed = new SubscribedCalendar(pathOf((await feedUrlsOf(user)).url));
    const first = (await book(user, slotId)).body;
    // Booked a while ago, so that the feed has a Last-Modified to poll with.
    await backdate(first.id, "2026-01-01T10:00:00Z");
    expect(await subscribed.sync()).toBe(200);
    expect(subscribed.shown()).toEqual([{ uid: `booking-${first.id}@slotbook`, status: "CONFIRMED" }]);
    expect(await subscribed.sync()).toBe(304);

    expect((await cancel(user, first.id)).status).toBe(200);
    expect(await subscribed.sync()).toBe(200);
    expect(subscribed.shown()).toEqual([]);

    const second = (await book(user, slotId)).body;
    expect(await subscribed.sync()).toBe(200);
    expect(subscribed.shown()).toEqual([{ uid: `booking-${second.id}@slotbook`, status: "CONFIRMED" }]);
  });

  it("serves a feed of 500 bookings that parses to 500 distinct events in start order", async () => {
    const user = await createUser();
    const categoryId = await createCategory(uniqueName("Many"));
    const statements = Array.from({ length: 500 }, (_, i) =>
      env.DB.prepare("INSERT INTO time_slots (category_id, start_time, end_time, max_capacity) VALUES (?, ?, ?, 5)").bind(
        categoryId,
        new Date(Date.UTC(2035, 0, 1) + i * 3_600_000).toISOString().slice(0, 19) + "Z",
        new Date(Date.UTC(2035, 0, 1) + i * 3_600_000 + 1_800_000).toISOString().slice(0, 19) + "Z",
      ),
    );
    await env.DB.batch(statements);
    await env.DB.prepare(
      `INSERT INTO bookings (user_id, time_slot_id, status, created_at)
       SELECT ?, id, 'BOOKED', '2030-01-01T00:00:00Z' FROM time_slots WHERE category_id = ?`,
    )
      .bind(user.id, categoryId)
      .run();

    const { response, calendar } = await fetchIcs(pathOf((await feedUrlsOf(user)).url));
    const events = eventsOf(calendar);
    expect(events).toHaveLength(500);
    expect(new Set(events.map((event) => event.uid)).size).toBe(500);
    expect(events.map((event) => event.start)).toEqual(events.map((event) => event.start).sort());
    expect(events.every((event) => event.status === "CONFIRMED" && event.summary.startsWith("Many "))).toBe(true);
    expect(response.body.length).toBeGreaterThan(500 * 200);
  });

  it("answers If-None-Match with its ETag with 304 and no body, privately", async () => {
    const user = await createUser();
    expect((await book(user, await createSlot())).status).toBe(201);
    const path = pathOf((await feedUrlsOf(user)).url);
    const { response } = await fetchIcs(path);
    const etag = response.headers.get("ETag")!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    expect(response.headers.get("Cache-Control")).toBe("private, no-cache");
    const again = await api<string>("GET", path, { headers: { "If-None-Match": etag } });
    expect({ status: again.status, body: again.body, etag: again.headers.get("ETag") }).toEqual({ status: 304, body: "", etag });
  });

  it("sends Last-Modified and answers If-Modified-Since with 304 until a booking changes, a cancelled one included; If-None-Match takes precedence", async () => {
    const user = await createUser();
    const booking = (await book(user, await createSlot({ startsInHours: 30 }))).body;
    await backdate(booking.id, "2026-01-01T10:00:00Z");
    const path = pathOf((await feedUrlsOf(user)).url);
    const { response } = await fetchIcs(path);
    expect(response.headers.get("Last-Modified")).toBe("Thu, 01 Jan 2026 10:00:00 GMT");
    expect(response.headers.get("Content-Disposition")).toBe('inline; filename="slotbook.ics"');
    const since = (date: string, headers: Record<string, string> = {}) => api<string>("GET", path, { headers: { "If-Modified-Since": date, ...headers } });
    expect((await since("Thu, 01 Jan 2026 10:00:00 GMT")).status).toBe(304);
    expect((await since("Fri, 02 Jan 2026 00:00:00 GMT")).status).toBe(304);
    expect((await since("Thu, 01 Jan 2026 09:59:59 GMT")).status).toBe(200);
    expect((await since("not a date")).status).toBe(200);
    expect((await since("Thu, 01 Jan 2026 10:00:00 GMT", { "If-None-Match": '"stale"' })).status).toBe(200);

    expect((await cancel(user, booking.id)).status).toBe(200);
    // Changed this second: no Last-Modified yet, and the date sent before no longer matches.
    const afterCancel = await since("Thu, 01 Jan 2026 10:00:00 GMT");
    expect(afterCancel.status).toBe(200);
    expect(afterCancel.body).not.toContain(`booking-${booking.id}@slotbook`);
  });
});

describe("GET /slots/{slot_id}/event.ics", () => {
  it("is one VEVENT for the slot, open to anyone, with the category as SUMMARY, as a file to import without refresh hints", async () => {
    const slotId = await createSlot({ categoryId: 3, startsInHours: 70 });
    const { response, calendar } = await fetchIcs(`/slots/${slotId}/event.ics`);
    const times = await slotTimes(slotId);
    expect(eventsOf(calendar)).toEqual([
      expect.objectContaining({ uid: `slot-${slotId}@slotbook`, start: times.start_time, end: times.end_time, status: "CONFIRMED", summary: "Workshop", sequence: 0 }),
    ]);
    expect(response.headers.get("Cache-Control")).toBe("public, max-age=2");
    expect(response.headers.get("Content-Disposition")).toBe(`attachment; filename="slot-${slotId}.ics"`);
    expect(calendar.getFirstProperty("refresh-interval")).toBeNull();
    expect(calendar.getFirstProperty("x-published-ttl")).toBeNull();
    const again = await api("GET", `/slots/${slotId}/event.ics`, { headers: { "If-None-Match": response.headers.get("ETag")! } });
    expect(again.status).toBe(304);
  });

  it("answers If-Modified-Since at or after the slot's last change with 304", async () => {
    const slotId = await createSlot({ startsInHours: 70 });
    await env.DB.prepare("UPDATE time_slots SET modified_at = '2026-01-01T10:00:00Z' WHERE id = ?").bind(slotId).run();
    const { response } = await fetchIcs(`/slots/${slotId}/event.ics`);
    expect(response.headers.get("Last-Modified")).toBe("Thu, 01 Jan 2026 10:00:00 GMT");
    expect((await api("GET", `/slots/${slotId}/event.ics`, { headers: { "If-Modified-Since": "Thu, 01 Jan 2026 10:00:00 GMT" } })).status).toBe(304);
    expect((await api("GET", `/slots/${slotId}/event.ics`, { headers: { "If-Modified-Since": "Thu, 01 Jan 2026 09:00:00 GMT" } })).status).toBe(200);
  });

  it("answers 404 slot_not_found for a missing or deleted slot, and 422 for an id that is not one", async () => {
    const slotId = await createSlot();
    expect((await api("DELETE", `/admin/slots/${slotId}`, { token: admin.token })).status).toBe(200);
    expect((await api<ErrorBody>("GET", `/slots/${slotId}/event.ics`)).body.code).toBe("slot_not_found");
    expect((await api<ErrorBody>("GET", "/slots/99999999/event.ics")).body.code).toBe("slot_not_found");
    expect((await api("GET", "/slots/abc/event.ics")).status).toBe(422);
  });

  it("sends the event's first path, /slots/{slot_id}.ics, to the new one (301)", async () => {
    const slotId = await createSlot();
    const moved = await exports.default.fetch(new Request(`http://slotbook.test/slots/${slotId}.ics`, { redirect: "manual" }));
    expect({ status: moved.status, location: moved.headers.get("Location") }).toEqual({ status: 301, location: `/slots/${slotId}/event.ics` });
  });
});
