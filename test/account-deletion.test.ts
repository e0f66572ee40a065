import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { slotObject } from "../src/objects/stubs";
import { deleteAccount, entryOf, liveEntriesOf, preferencesAs, registered } from "./account-helpers";
import { book, hold, joinWaitlist } from "./support/bookings";
import { api, errorOf } from "./support/client";
import { whileWritesFail } from "./support/failures";
import { createSlot, expectConsistent, moveSlotInD1, waitlistOf } from "./support/slots";
import { createUser, login, PASSWORD, register } from "./support/users";
import { createWebhook } from "./support/webhooks";

// DELETE /user: every live entry ends through its slot's object, then the account is erased.

/** A full slot of capacity 1, booked by someone else. */
async function fullSlot(): Promise<number> {
  const slotId = await createSlot({ capacity: 1 });
  expect((await book(await createUser(), slotId)).status).toBe(201);
  return slotId;
}

async function usersRow(userId: number) {
  return env.DB.prepare("SELECT email, password_hash, role, deleted_at FROM users WHERE id = ?")
    .bind(userId)
    .first<{ email: string; password_hash: string; role: string; deleted_at: string | null }>();
}

describe("DELETE /user", () => {
  it("ends every live entry through its slot: a booking's place goes to the first waiter, a hold is released, a waitlist place is left", async () => {
    const account = await registered();
    const booked = await createSlot({ capacity: 1 });
    const booking = await book(account, booked);
    const waiter = await createUser();
    const waiting = await joinWaitlist(waiter, booked);
    const held = await createSlot({ capacity: 1 });
    const heldEntry = await hold(account, held);
    const full = await fullSlot();
    const place = await joinWaitlist(account, full);
    expect([booking.status, waiting.status, heldEntry.status, place.status]).toEqual([201, 202, 201, 202]);

    const response = await deleteAccount(account, PASSWORD);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ message: "Account deleted", cancelled_bookings: 3 });
    for (const id of [booking.body.id, heldEntry.body.id, place.body.id]) expect((await entryOf(id)).status).toBe("CANCELLED");
    expect((await entryOf(waiting.body.id)).status).toBe("BOOKED");
    for (const slotId of [booked, held, full]) await expectConsistent(slotId);
    expect(await waitlistOf(full)).toEqual([]);
  });

  it("writes the webhook events of any cancellation: booking.cancelled for the entry, booking.promoted for the waiter it lets in", async () => {
    await createWebhook(await createUser("ADMIN"), ["booking.cancelled", "booking.promoted"]);
    const account = await registered();
    const slotId = await createSlot({ capacity: 1 });
    const booking = await book(account, slotId);
    const waiting = await joinWaitlist(await createUser(), slotId);
    expect((await deleteAccount(account, PASSWORD)).status).toBe(200);
    const { results } = await env.DB.prepare(
      "SELECT type, json_extract(data, '$.id') AS id, json_extract(data, '$.status') AS status FROM webhook_events WHERE json_extract(data, '$.id') IN (?, ?) ORDER BY id",
    )
      .bind(booking.body.id, waiting.body.id)
      .all();
    expect(results).toEqual([
      { type: "booking.cancelled", id: booking.body.id, status: "CANCELLED" },
      { type: "booking.promoted", id: waiting.body.id, status: "BOOKED" },
    ]);
  });

  it("undoes a move in progress through the target slot's object, then cancels the booking it was moving", async () => {
    const account = await registered();
    const [from, to] = [await createSlot(), await createSlot()];
    const booking = await book(account, from);
    // Step 1 of a move (the target's place), as a reschedule interrupted before its step 2 leaves it.
    const moved = await slotObject(env, to).takeForMove(to, booking.body.id, account.id);
    expect(moved.ok).toBe(true);
    expect((await deleteAccount(account, PASSWORD)).status).toBe(200);
    expect((await env.DB.prepare("SELECT COUNT(*) AS n FROM booking_moves WHERE from_booking_id = ?").bind(booking.body.id).first())?.n).toBe(0);
    expect(await liveEntriesOf(account.id)).toEqual([]);
    await expectConsistent(from);
    await expectConsistent(to);
  });

  it("erases the account: email and password hash gone, the address free to register again, the feed URL 404, tokens 401", async () => {
    const account = await registered();
    const feed = await api<{ url: string }>("GET", "/user/calendar-feed", { token: account.token });
    const feedPath = new URL(feed.body.url).pathname;
    expect((await api("GET", feedPath)).status).toBe(200);
    expect((await api("POST", "/user/preferences", { token: account.token, body: { preferred_categories: [1] } })).status).toBe(200);

    expect((await deleteAccount(account, PASSWORD)).status).toBe(200);
    expect(await usersRow(account.id)).toEqual({ email: `erased:${account.id}`, password_hash: "", role: "USER", deleted_at: expect.any(String) });
    expect(errorOf(await api("GET", feedPath))).toEqual({ status: 404, code: "calendar_feed_not_found" });
    expect(await preferencesAs(account.token)).toEqual({ status: 401, code: "invalid_token" });
    expect(errorOf(await login(account.email))).toEqual({ status: 401, code: "invalid_credentials" });
    const count = (table: string) => env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE user_id = ?`).bind(account.id).first<{ n: number }>();
    expect([(await count("user_preferences"))?.n, (await count("calendar_feeds"))?.n]).toEqual([0, 0]);
    const again = await register(account.email);
    expect(again.status).toBe(201);
  });

  it("leaves no one to give a role to: PUT /admin/users/{user_id}/role on an erased account is 404 user_not_found", async () => {
    const account = await registered();
    expect((await deleteAccount(account, PASSWORD)).status).toBe(200);
    const admin = await createUser("ADMIN");
    expect(errorOf(await api("PUT", `/admin/users/${account.id}/role`, { token: admin.token, body: { role: "ADMIN" } }))).toEqual({
      status: 404,
      code: "user_not_found",
    });
    expect((await usersRow(account.id))?.role).toBe("USER");
  });

  it("keeps past bookings and audit entries with the user id, and the email nowhere", async () => {
    const account = await registered();
    const past = await createSlot();
    const booking = await book(account, past);
    await moveSlotInD1(past, -2);
    expect((await api("POST", "/user/sessions/revoke", { token: account.token })).status).toBe(200);
    const token = (await login(account.email)).body.access_token;
    expect((await deleteAccount({ token }, PASSWORD)).status).toBe(200);

    expect(await entryOf(booking.body.id)).toEqual({ id: booking.body.id, user_id: account.id, status: "BOOKED" });
    const { results: audit } = await env.DB.prepare("SELECT actor_id, action FROM audit_log WHERE target = ? ORDER BY id").bind(`user:${account.id}`).all();
    expect(audit).toEqual([
      { actor_id: account.id, action: "user.sessions_revoke" },
      { actor_id: account.id, action: "user.delete" },
    ]);
    for (const [table, column] of [["users", "email"], ["audit_log", "before || ' ' || coalesce(after, '')"], ["webhook_events", "data"]]) {
      const found = await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE instr(${column}, ?) > 0`).bind(account.email).first<{ n: number }>();
      expect(found?.n, `${table} holds the email`).toBe(0);
    }
  });

  it("refuses a wrong password with 401 invalid_credentials, ending nothing", async () => {
    const account = await registered();
    const booking = await book(account, await createSlot());
    expect(errorOf(await deleteAccount(account, "not the password"))).toEqual({ status: 401, code: "invalid_credentials" });
    expect((await entryOf(booking.body.id)).status).toBe("BOOKED");
    expect(await preferencesAs(account.token)).toEqual({ status: 200, code: undefined });
  });

  it("refuses the only admin with 409 last_admin, ending nothing; with another admin, an admin may leave", async () => {
    const admin = await registered("admin");
    await env.DB.prepare("UPDATE users SET role = 'USER' WHERE role = 'ADMIN'").run();
    await env.DB.prepare("UPDATE users SET role = 'ADMIN' WHERE id = ?").bind(admin.id).run();
    const booking = await book(admin, await createSlot());
    expect(errorOf(await deleteAccount(admin, PASSWORD))).toEqual({ status: 409, code: "last_admin" });
    expect((await entryOf(booking.body.id)).status).toBe("BOOKED");
    expect((await usersRow(admin.id))?.role).toBe("ADMIN");

    const other = await createUser("ADMIN");
    expect((await deleteAccount(admin, PASSWORD)).status).toBe(200);
    expect((await api("GET", "/admin/audit", { token: other.token })).status).toBe(200);
  });

  it("of two admins deleting themselves at once, only one goes: the other is 409 last_admin", async () => {
    const [first, second] = [await registered("admin"), await registered("admin")];
    await env.DB.prepare("UPDATE users SET role = 'USER' WHERE role = 'ADMIN'").run();
    await env.DB.prepare("UPDATE users SET role = 'ADMIN' WHERE id IN (?, ?)").bind(first.id, second.id).run();
    const responses = await Promise.all([deleteAccount(first, PASSWORD), deleteAccount(second, PASSWORD)]);
    expect(responses.map(errorOf).sort((a, b) => a.status - b.status)).toEqual([
      { status: 200, code: undefined },
      { status: 409, code: "last_admin" },
    ]);
    const { results } = await env.DB.prepare("SELECT id FROM users WHERE role = 'ADMIN' AND deleted_at IS NULL").all();
    expect(results).toHaveLength(1);
  });

  it("a failure midway leaves the account usable with the steps done kept, and a retry finishes", async () => {
    const account = await registered();
    const [first, second] = [await book(account, await createSlot()), await book(account, await createSlot())];
    const failed = await whileWritesFail("bookings", "UPDATE", () => deleteAccount(account, PASSWORD), `OLD.id = ${second.body.id}`);
    expect(errorOf(failed)).toEqual({ status: 503, code: "storage_unavailable" });
    expect([(await entryOf(first.body.id)).status, (await entryOf(second.body.id)).status]).toEqual(["CANCELLED", "BOOKED"]);
    expect(await preferencesAs(account.token)).toEqual({ status: 200, code: undefined });
    expect((await login(account.email)).status).toBe(200);

    // The erasure itself failing: everything is cancelled, the account is still there.
    const erasing = await whileWritesFail("users", "UPDATE", () => deleteAccount(account, PASSWORD));
    expect(errorOf(erasing)).toEqual({ status: 503, code: "storage_unavailable" });
    expect((await entryOf(second.body.id)).status).toBe("CANCELLED");
    expect(await preferencesAs(account.token)).toEqual({ status: 200, code: undefined });

    const retried = await deleteAccount(account, PASSWORD);
    expect(retried.status).toBe(200);
    expect(retried.body.cancelled_bookings).toBe(0);
    expect((await usersRow(account.id))?.deleted_at).not.toBeNull();
  });
});
