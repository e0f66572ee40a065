import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { AccountExport } from "../src/accounts/export";
import { changePassword, registered } from "./account-helpers";
import { book, cancel, hold, joinWaitlist } from "./support/bookings";
import { api, errorOf } from "./support/client";
import { createSlot } from "./support/slots";
import { createUser, PASSWORD } from "./support/users";

// GET /user/export: everything stored about the caller.

describe("GET /user/export", () => {
  it("holds the account, preferences, every entry with its slot's times and category, the feed's existence and the audit entries naming the caller", async () => {
    const account = await registered();
    expect((await api("POST", "/user/preferences", { token: account.token, body: { preferred_categories: [2, 1] } })).status).toBe(200);
    const [early, late, full] = [await createSlot({ startsInHours: 24, categoryId: 2 }), await createSlot({ startsInHours: 48 }), await createSlot({ capacity: 1, startsInHours: 72 })];
    const booked = await book(account, early);
    const held = await hold(account, late);
    expect((await book(await createUser(), full)).status).toBe(201);
    const waiting = await joinWaitlist(account, full);
    const admin = await createUser("ADMIN");
    expect((await cancel(admin, booked.body.id)).status).toBe(200);
    const feed = await api<{ url: string }>("GET", "/user/calendar-feed", { token: account.token });
    const changed = await changePassword(account, PASSWORD, "a brand new passphrase");

    const response = await api<AccountExport>("GET", "/user/export", { token: changed.body.access_token });
    expect(response.status).toBe(200);
    const data = response.body;
    expect(data.account).toEqual({ id: account.id, email: account.email, role: "USER", created_at: expect.stringMatching(/Z$/) });
    expect(data.preferences).toEqual({ preferred_categories: [1, 2] });
    expect(data.bookings.map(({ id, status, time_slot_id, category }) => ({ id, status, time_slot_id, category }))).toEqual([
      { id: booked.body.id, status: "CANCELLED", time_slot_id: early, category: "Consultation" },
      { id: held.body.id, status: "HELD", time_slot_id: late, category: "Fitness" },
      { id: waiting.body.id, status: "WAITLISTED", time_slot_id: full, category: "Fitness" },
    ]);
    const slot = await env.DB.prepare("SELECT start_time, end_time FROM time_slots WHERE id = ?").bind(early).first();
    expect(data.bookings[0]).toMatchObject({ ...slot, timezone: "UTC", category_id: 2, cancelled_at: expect.any(String) });
    expect(data.bookings[1].expires_at).toBe(held.body.expires_at);
    expect(data.calendar_feed).toEqual({ exists: true, created_at: expect.stringMatching(/Z$/) });
    expect(JSON.stringify(data)).not.toContain(new URL(feed.body.url).pathname.slice("/calendar/".length, -".ics".length));
    expect(data.audit_entries.map(({ actor_id, action, target }) => ({ actor_id, action, target }))).toEqual([
      { actor_id: admin.id, action: "booking.cancel", target: `booking:${booked.body.id}` },
      { actor_id: account.id, action: "user.password_change", target: `user:${account.id}` },
    ]);
    expect(JSON.stringify(data)).not.toContain(PASSWORD);
  });

  it("answers an account with nothing stored but itself, as an attachment that no cache keeps", async () => {
    const account = await registered();
    const response = await api<AccountExport>("GET", "/user/export", { token: account.token });
    expect(response.body).toMatchObject({ preferences: { preferred_categories: [] }, bookings: [], calendar_feed: { exists: false, created_at: null }, audit_entries: [] });
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(response.headers.get("Content-Disposition")).toBe('attachment; filename="slotbook-export.json"');
  });

  it("shows nothing of other users", async () => {
    const [account, other] = [await registered(), await registered()];
    await book(other, await createSlot());
    const response = await api<AccountExport>("GET", "/user/export", { token: account.token });
    expect(response.body.bookings).toEqual([]);
    expect(JSON.stringify(response.body)).not.toContain(other.email);
  });

  it("is 401 without a token", async () => {
    expect(errorOf(await api("GET", "/user/export"))).toEqual({ status: 401, code: "not_authenticated" });
  });
});
