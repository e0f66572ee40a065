import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { csvCell } from "../src/roster/csv";
import { book, cancel, hold, joinWaitlist } from "./support/bookings";
import { api, errorOf } from "./support/client";
import { createSlot } from "./support/slots";
import { createUser, createUsers } from "./support/users";
import { createWebhook, receivedOn } from "./support/webhooks";

// The organizer's side of a slot: its roster (JSON and CSV, complete without limit) and
// attendance (check-in through the slot's object, audited and announced).

type RosterEntry = { id: number; user_id: number; email: string; status: string; position?: number; expires_at?: string; created_at: string; checked_in_at: string | null };

const rosterOf = (admin: { token: string }, slotId: number, query = "") => api<RosterEntry[]>("GET", `/admin/slots/${slotId}/bookings${query}`, { token: admin.token });

/** Parses RFC 4180 text: quoted fields (quotes doubled inside) and CRLF-ended records. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    if (quoted && char === '"' && text[i + 1] === '"') {
      field += '"';
      i += 1;
    } else if (char === '"') {
      quoted = !quoted;
    } else if (!quoted && char === ",") {
      record.push(field);
      field = "";
    } else if (!quoted && char === "\r" && text[i + 1] === "\n") {
      records.push([...record, field]);
      record = [];
      field = "";
      i += 1;
    } else {
      field += char;
    }
  }
  return records;
}

describe("GET /admin/slots/{slot_id}/bookings", () => {
  it("lists every live entry in the order made: BOOKED, HELD with expires_at, WAITLISTED with position, with email", async () => {
    const admin = await createUser("ADMIN");
    const slotId = await createSlot({ capacity: 2 });
    const [booker, holder, first, second] = await createUsers(4);
    const booked = await book(booker, slotId);
    const held = await hold(holder, slotId);
    const waiting = [await joinWaitlist(first, slotId), await joinWaitlist(second, slotId)];
    const roster = await rosterOf(admin, slotId);
    expect(roster.status).toBe(200);
    expect(roster.body.map(({ id, email, status, position, expires_at, checked_in_at }) => ({ id, email, status, position, expires_at, checked_in_at }))).toEqual([
      { id: booked.body.id, email: booker.email, status: "BOOKED", position: undefined, expires_at: undefined, checked_in_at: null },
      { id: held.body.id, email: holder.email, status: "HELD", position: undefined, expires_at: held.body.expires_at, checked_in_at: null },
      { id: waiting[0].body.id, email: first.email, status: "WAITLISTED", position: 1, expires_at: undefined, checked_in_at: null },
      { id: waiting[1].body.id, email: second.email, status: "WAITLISTED", position: 2, expires_at: undefined, checked_in_at: null },
    ]);
  });

  it("filters with status=, shows CANCELLED only when asked, and refuses an unknown status (422)", async () => {
    const admin = await createUser("ADMIN");
    const slotId = await createSlot();
    const [stays, leaves] = await createUsers(2);
    await book(stays, slotId);
    const gone = await book(leaves, slotId);
    await cancel(leaves, gone.body.id);
    expect((await rosterOf(admin, slotId)).body.map((entry) => entry.user_id)).toEqual([stays.id]);
    expect((await rosterOf(admin, slotId, "?status=CANCELLED")).body.map((entry) => entry.user_id)).toEqual([leaves.id]);
    expect((await rosterOf(admin, slotId, "?status=BOOKED,CANCELLED")).body).toHaveLength(2);
    expect((await rosterOf(admin, slotId, "?status=GONE")).status).toBe(422);
  });

  it("is complete without limit (700 entries), and pages with limit and Link", async () => {
    const admin = await createUser("ADMIN");
    const slotId = await createSlot({ capacity: 700 });
    const users = await createUsers(700);
    await env.DB.prepare("INSERT INTO bookings (user_id, time_slot_id, status, created_at) SELECT value, ?, 'BOOKED', '2026-01-01T00:00:00Z' FROM json_each(?)")
      .bind(slotId, JSON.stringify(users.map((user) => user.id)))
      .run();
    const all = await rosterOf(admin, slotId);
    expect(all.body.map((entry) => entry.user_id)).toEqual(users.map((user) => user.id));
    const page = await rosterOf(admin, slotId, "?limit=300");
    expect(page.body).toHaveLength(300);
    expect(page.headers.get("Link")).toMatch(/rel="next"$/);
  });

  it("answers CSV for Accept: text/csv or format=csv: a header row, CRLF, a download, formulas neutralised", async () => {
    const admin = await createUser("ADMIN");
    const slotId = await createSlot();
    const [plain] = await createUsers(1);
    // An email may start with "=" (RFC 5322 allows it in the local part).
    const row = await env.DB.prepare("INSERT INTO users (email, password_hash, role, created_at) VALUES (?, 'x', 'USER', '2026-01-01T00:00:00Z') RETURNING id")
      .bind(`=HYPERLINK("http://evil.example","x"),@sum-${Date.now()}@example.com`)
      .first<{ id: number }>();
    await book(plain, slotId);
    await env.DB.prepare("INSERT INTO bookings (user_id, time_slot_id, status, created_at) VALUES (?, ?, 'BOOKED', '2026-01-02T00:00:00Z')").bind(row!.id, slotId).run();
    for (const asked of [{ headers: { Accept: "text/csv" } }, { query: "?format=csv" }]) {
      const response = await api<string>("GET", `/admin/slots/${slotId}/bookings${asked.query ?? ""}`, { token: admin.token, headers: asked.headers });
      expect(response.status).toBe(200);
      expect(response.headers.get("Content-Type")).toBe("text/csv; charset=utf-8; header=present");
      expect(response.headers.get("Content-Disposition")).toBe(`attachment; filename="slot-${slotId}-roster.csv"`);
      expect(response.body.endsWith("\r\n")).toBe(true);
      const [header, ...records] = parseCsv(response.body);
      expect(header).toEqual(["id", "user_id", "email", "status", "position", "expires_at", "created_at", "checked_in_at"]);
      // By when they were made: the inserted one is older.
      expect(records.map((record) => record[2])).toEqual([expect.stringMatching(/^'=HYPERLINK\("http:/), plain.email]);
      expect(records.every((record) => record.length === 8)).toBe(true);
    }
  });

  it("is for admins only, and 404 slot_not_found for a missing or deleted slot", async () => {
    const admin = await createUser("ADMIN");
    const slotId = await createSlot();
    expect((await rosterOf(await createUser(), slotId)).status).toBe(403);
    expect(errorOf(await rosterOf(admin, 99_999_999))).toEqual({ status: 404, code: "slot_not_found" });
    await api("DELETE", `/admin/slots/${slotId}`, { token: admin.token });
    expect(errorOf(await rosterOf(admin, slotId))).toEqual({ status: 404, code: "slot_not_found" });
  });
});

describe("csvCell", () => {
  it.each([
    ["plain", "plain"],
    ["=1+1", "'=1+1"],
    ["+1", "'+1"],
    ["-1", "'-1"],
    ["@SUM(A1)", "'@SUM(A1)"],
    ["\tx", "'\tx"],
    ["\rx", "\"'\rx\""],
    ['say "hi", then', '"say ""hi"", then"'],
    ["two\nlines", '"two\nlines"'],
  ])("writes %j as %j", (value, cell) => {
    expect(csvCell(value)).toBe(cell);
  });

  it("writes null as an empty cell and numbers as they are", () => {
    expect([csvCell(null), csvCell(42)]).toEqual(["", "42"]);
  });
});

describe("POST and DELETE /admin/bookings/{booking_id}/check-in", () => {
  const checkIn = (admin: { token: string }, bookingId: number, method = "POST") =>
    api<RosterEntry>(method, `/admin/bookings/${bookingId}/check-in`, { token: admin.token });

  it("records attendance on a BOOKED booking, idempotently; the roster shows it; DELETE undoes it", async () => {
    const admin = await createUser("ADMIN");
    const slotId = await createSlot();
    const booked = await book(await createUser(), slotId);
    const first = await checkIn(admin, booked.body.id);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ id: booked.body.id, status: "BOOKED", checked_in_at: expect.stringMatching(/Z$/) });
    const again = await checkIn(admin, booked.body.id);
    expect(again.body.checked_in_at).toBe(first.body.checked_in_at);
    expect((await rosterOf(admin, slotId)).body[0].checked_in_at).toBe(first.body.checked_in_at);
    expect((await checkIn(admin, booked.body.id, "DELETE")).body.checked_in_at).toBeNull();
    expect((await checkIn(admin, booked.body.id, "DELETE")).status).toBe(200);
    expect((await rosterOf(admin, slotId)).body[0].checked_in_at).toBeNull();
  });

  it("refuses a hold, a waitlist place and a cancelled booking with 409 not_booked; 404 for no booking", async () => {
    const admin = await createUser("ADMIN");
    const slotId = await createSlot({ capacity: 1 });
    const [holder, waiter, leaver] = await createUsers(3);
    const held = await hold(holder, slotId);
    const waiting = await joinWaitlist(waiter, slotId);
    const other = await createSlot();
    const gone = await book(leaver, other);
    await cancel(leaver, gone.body.id);
    for (const bookingId of [held.body.id, waiting.body.id, gone.body.id]) {
      expect(errorOf(await checkIn(admin, bookingId))).toEqual({ status: 409, code: "not_booked" });
    }
    expect(errorOf(await checkIn(admin, 99_999_999))).toEqual({ status: 404, code: "booking_not_found" });
    expect((await checkIn(await createUser(), held.body.id)).status).toBe(403);
  });

  it("is audited, once per change, and announced by booking.checked_in and booking.check_in_undone", async () => {
    const admin = await createUser("ADMIN");
    const { path } = await createWebhook(admin, ["booking.checked_in", "booking.check_in_undone"]);
    const booked = await book(await createUser(), await createSlot());
    await checkIn(admin, booked.body.id);
    await checkIn(admin, booked.body.id);
    await checkIn(admin, booked.body.id, "DELETE");
    const audit = await api<{ action: string; target: string }[]>("GET", "/admin/audit?limit=500", { token: admin.token });
    const entries = audit.body.filter((entry) => entry.target === `booking:${booked.body.id}`).map((entry) => entry.action);
    expect(entries).toEqual(["booking.undo_check_in", "booking.check_in"]);
    const payloads = async () => (await receivedOn(path)).map((event) => JSON.parse(event.body) as { type: string; data: { id: number; checked_in_at: string | null } });
    await expect.poll(async () => (await payloads()).map((event) => event.type).sort(), { timeout: 15_000 }).toEqual(["booking.check_in_undone", "booking.checked_in"]);
    const byType = Object.fromEntries((await payloads()).map((event) => [event.type, event.data]));
    expect(byType["booking.checked_in"]).toMatchObject({ id: booked.body.id, checked_in_at: expect.stringMatching(/Z$/) });
    expect(byType["booking.check_in_undone"]).toMatchObject({ id: booked.body.id, checked_in_at: null });
  });
});
