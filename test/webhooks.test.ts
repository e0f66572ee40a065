import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { WebhookEventType } from "../src/db/schema";
import { toUtcIso } from "../src/db/time";
import { RETRY_DELAYS_SECONDS, retryDelaySeconds } from "../src/webhooks/delivery";
import { refusalOf } from "../src/webhooks/url-policy";
import { book, cancel, expireHolds, hold, joinWaitlist, runAlarm } from "./support/bookings";
import { api, as, client, settle, statusCounts } from "./support/client";
import { whileBookingWritesFail, whileWritesFail } from "./support/failures";
import { watch } from "./support/live";
import { eventually } from "./support/properties";
import { createSlot } from "./support/slots";
import { createUser, createUsers, type TestUser } from "./support/users";
import { createWebhook, receivedOn, runCron } from "./support/webhooks";
import type { ReceivedWebhook } from "./webhook-receiver";

// Webhooks end to end: the Worker POSTs to a real HTTP receiver on 127.0.0.1 (test/global-setup.ts)
// through the real queue; the tests verify what it received with the `standardwebhooks` package.

let admin: TestUser;
beforeAll(async () => {
  admin = await createUser("ADMIN");
});
// Each test subscribes its own webhooks; none outlives it, so no test receives another's events.
afterEach(async () => {
  await env.DB.prepare("DELETE FROM webhooks").run();
});

type Payload = { type: WebhookEventType; timestamp: string; data: Record<string, unknown> };

/** The payload of a received webhook, after checking its signature as a receiver would. */
function verified(secret: string, received: ReceivedWebhook): Payload {
  return new Webhook(secret).verify(received.body, received.headers) as Payload;
}

/** Waits until `path` has received `count` webhooks and answers their verified payloads. */
async function payloadsOn(hook: { path: string; secret: string }, count: number, timeoutMs?: number): Promise<Payload[]> {
  const received = await eventually(() => receivedOn(hook.path), (list) => list.length >= count, timeoutMs);
  return received.map((one) => verified(hook.secret, one));
}

async function outboxCount(type: WebhookEventType): Promise<number> {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM webhook_events WHERE type = ?").bind(type).first<{ n: number }>();
  return row!.n;
}

const listWebhooks = () => settle(client.admin.webhooks.$get({}, as(admin)));
const deliveriesOf = (webhookId: number) =>
  settle(client.admin.webhooks[":webhook_id"].deliveries.$get({ param: { webhook_id: String(webhookId) }, query: {} }, as(admin)));

describe("without a subscribed webhook", () => {
  it("a booking writes no event", async () => {
    expect((await listWebhooks()).body).toEqual([]);
    const user = await createUser();
    expect((await book(user, await createSlot())).status).toBe(201);
    expect(await outboxCount("booking.created")).toBe(0);
  });

  it("nor does an event type that no enabled webhook subscribes to", async () => {
    await createWebhook(admin, ["slot.deleted"]);
    const user = await createUser();
    const booking = await book(user, await createSlot());
    expect((await cancel(user, booking.body.id)).status).toBe(200);
    expect(await outboxCount("booking.created")).toBe(0);
    expect(await outboxCount("booking.cancelled")).toBe(0);
  });
});

describe("delivery", () => {
  it("POSTs {type, timestamp, data} signed per Standard Webhooks, which standardwebhooks verifies", async () => {
    const hook = await createWebhook(admin, ["booking.created"]);
    const user = await createUser();
    const booking = await book(user, await createSlot());
    const [received] = await eventually(() => receivedOn(hook.path), (list) => list.length === 1);
    const payload = verified(hook.secret, received);
    expect(payload).toEqual({ type: "booking.created", timestamp: expect.stringMatching(/Z$/), data: booking.body });
    expect(received.headers["webhook-id"]).toMatch(/^evt_\d+$/);
    expect(Math.abs(Number(received.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(30);
    expect(received.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(received.headers["content-type"]).toBe("application/json");
    // Another secret, or a changed body, does not verify.
    const other = await createWebhook(admin, ["slot.deleted"]);
    expect(() => verified(other.secret, received)).toThrow(/signature/i);
    expect(() => verified(hook.secret, { ...received, body: received.body.replace("BOOKED", "CANCELLED") })).toThrow(/signature/i);
  });

  it("sends each subscribed type with data as the API shows it, and nothing else", async () => {
    const hook = await createWebhook(admin, ["booking.cancelled", "slot.created", "slot.updated", "slot.deleted"]);
    const created = await api<Record<string, unknown>>("POST", "/admin/slots", {
      token: admin.token,
      body: { category_id: 1, start_time: "2041-03-01T10:00:00Z", end_time: "2041-03-01T11:00:00Z", max_capacity: 4 },
    });
    const slotId = created.body.id as number;
    const updated = await api("PUT", `/admin/slots/${slotId}`, { token: admin.token, body: { max_capacity: 6 } });
    const [first, second] = await createUsers(2);
    const kept = await book(first, slotId);
    const cancelled = await book(second, slotId);
    expect((await cancel(second, cancelled.body.id)).status).toBe(200);
    expect((await api("DELETE", `/admin/slots/${slotId}`, { token: admin.token })).status).toBe(200);

    const payloads = await payloadsOn(hook, 5);
    const byType = (type: WebhookEventType) => payloads.filter((payload) => payload.type === type).map(({ data }) => data);
    expect(byType("slot.created")).toEqual([created.body]);
    expect(byType("slot.updated")).toEqual([updated.body]);
    // A deleted slot offers no places, as its last live message says too.
    expect(byType("slot.deleted")).toEqual([{ ...(updated.body as object), available_spots: 0 }]);
    // The booking cancelled by its owner, then the one cancelled with its slot.
    expect(byType("booking.cancelled")).toEqual(
      expect.arrayContaining([
        { ...cancelled.body, status: "CANCELLED" },
        { ...kept.body, status: "CANCELLED" },
      ]),
    );
    expect(byType("booking.cancelled")).toHaveLength(2);
    expect(payloads.map(({ type }) => type)).not.toContain("booking.created");
  });

  it("tells one story of a deleted slot: slot.deleted and the last live message both say available_spots 0, max_capacity kept", async () => {
    const hook = await createWebhook(admin, ["slot.deleted"]);
    const slotId = await createSlot({ capacity: 5 });
    expect((await book(await createUser(), slotId)).status).toBe(201);
    const watcher = await watch(slotId);
    expect(await watcher.next()).toMatchObject({ available_spots: 4, deleted: false });
    expect((await api("DELETE", `/admin/slots/${slotId}`, { token: admin.token })).status).toBe(200);
    const last = await watcher.next();
    const [deleted] = await payloadsOn(hook, 1);
    expect(last).toMatchObject({ slot_id: slotId, available_spots: 0, max_capacity: 5, deleted: true });
    expect(deleted.data).toMatchObject({ id: slotId, available_spots: 0, max_capacity: 5 });
  });

  it("announces a waitlist join, a promotion and an expired hold, each booking as the API shows it then", async () => {
    const hook = await createWebhook(admin, ["booking.created", "booking.promoted", "booking.expired"]);
    const slotId = await createSlot({ capacity: 1 });
    const [holder, waiter] = await createUsers(2);
    const held = await hold(holder, slotId);
    const joined = await joinWaitlist(waiter, slotId);
    await expireHolds(slotId);
    expect(await runAlarm(slotId)).toBe(true);
    const payloads = await payloadsOn(hook, 4);
    const entry = (user: TestUser, id: number) => ({ id, user_id: user.id, time_slot_id: slotId });
    expect(payloads.map(({ type, data }) => ({ type, data }))).toEqual(
      expect.arrayContaining([
        { type: "booking.created", data: held.body },
        { type: "booking.created", data: { ...entry(waiter, joined.body.id), status: "WAITLISTED", position: 1 } },
        { type: "booking.expired", data: { ...entry(holder, held.body.id), status: "CANCELLED" } },
        { type: "booking.promoted", data: { ...entry(waiter, joined.body.id), status: "BOOKED" } },
      ]),
    );
    expect(payloads).toHaveLength(4);
  });

  it("announces the promotion that a cancellation causes, in the cancellation's batch", async () => {
    const hook = await createWebhook(admin, ["booking.cancelled", "booking.promoted"]);
    const slotId = await createSlot({ capacity: 1 });
    const [booker, waiter] = await createUsers(2);
    const booking = await book(booker, slotId);
    const joined = await joinWaitlist(waiter, slotId);
    // A failing promotion fails the cancellation too: no event for either.
    const written = async () => [await outboxCount("booking.cancelled"), await outboxCount("booking.promoted")];
    const before = await written();
    const failed = await whileWritesFail("bookings", "UPDATE", () => cancel(booker, booking.body.id), "OLD.status = 'WAITLISTED'");
    expect(failed.status).toBe(503);
    expect(await written()).toEqual(before);
    expect((await cancel(booker, booking.body.id)).status).toBe(200);
    const payloads = await payloadsOn(hook, 2);
    expect(payloads.map(({ type, data }) => ({ type, id: data.id, status: data.status })).sort((a, b) => a.type.localeCompare(b.type))).toEqual([
      { type: "booking.cancelled", id: booking.body.id, status: "CANCELLED" },
      { type: "booking.promoted", id: joined.body.id, status: "BOOKED" },
    ]);
  });

  it("retries a failed attempt 5 s later with the same webhook-id, and records both attempts", async () => {
    const hook = await createWebhook(admin, ["booking.created"], "fail-first");
    const user = await createUser();
    const booking = await book(user, await createSlot());
    const [first, retry] = await eventually(() => receivedOn(hook.path), (list) => list.length === 2, 30_000);
    expect([first.answered, retry.answered]).toEqual([503, 204]);
    expect(retry.headers["webhook-id"]).toBe(first.headers["webhook-id"]);
    expect(Number(retry.headers["webhook-timestamp"]) - Number(first.headers["webhook-timestamp"])).toBeGreaterThanOrEqual(4);
    expect(verified(hook.secret, retry)).toMatchObject({ type: "booking.created", data: booking.body });
    const deliveries = await eventually(() => deliveriesOf(hook.id), ({ body }) => Array.isArray(body) && body.length === 2);
    const eventId = Number(first.headers["webhook-id"].slice("evt_".length));
    expect(deliveries.body).toEqual([
      { id: expect.any(Number), event_id: eventId, event_type: "booking.created", attempt: 2, status_code: 204, error: null, created_at: expect.any(String) },
      { id: expect.any(Number), event_id: eventId, event_type: "booking.created", attempt: 1, status_code: 503, error: null, created_at: expect.any(String) },
    ]);
    // Once it succeeds the webhook is not failing any more.
    expect((await listWebhooks()).body.find(({ id }) => id === hook.id)).toMatchObject({ failing_since: null, disabled_at: null });
  });

  it("retries after 5 s, 5 min, 30 min, 2 h, 5 h and 10 h, then gives up", () => {
    expect(RETRY_DELAYS_SECONDS).toEqual([5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600]);
    expect([1, 2, 3, 4, 5, 6, 7].map(retryDelaySeconds)).toEqual([5, 300, 1800, 7200, 18000, 36000, undefined]);
  });

  it("records an endpoint that does not answer as an error without a status", async () => {
    // Nothing listens on port 49151 (the last registered port) of 127.0.0.1 here.
    const created = await settle(client.admin.webhooks.$post({ json: { url: "http://127.0.0.1:49151/", events: ["booking.created"] } }, as(admin)));
    const user = await createUser();
    await book(user, await createSlot());
    const deliveries = await eventually(() => deliveriesOf(created.body.id), ({ body }) => Array.isArray(body) && body.length === 1);
    expect(deliveries.body[0]).toMatchObject({ attempt: 1, status_code: null, error: expect.any(String) });
    expect((await listWebhooks()).body.find(({ id }) => id === created.body.id)?.failing_since).toEqual(expect.any(String));
    await api("DELETE", `/admin/webhooks/${created.body.id}`, { token: admin.token });
  });

  it("disables an endpoint that has failed for 3 days in a row, and sends it nothing more", async () => {
    const hook = await createWebhook(admin, ["booking.created"], "fail");
    const longAgo = toUtcIso(new Date(Date.now() - 3 * 24 * 3600 * 1000 - 60_000));
    await env.DB.prepare("UPDATE webhooks SET failing_since = ? WHERE id = ?").bind(longAgo, hook.id).run();
    const [first, second] = await createUsers(2);
    await book(first, await createSlot());
    const listed = await eventually(listWebhooks, ({ body }) => body.find(({ id }) => id === hook.id)?.disabled_at !== null);
    expect(listed.body.find(({ id }) => id === hook.id)).toMatchObject({ failing_since: longAgo, disabled_at: expect.any(String) });
    await book(second, await createSlot());
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await receivedOn(hook.path)).toHaveLength(1);
  });
});

describe("the outbox: an event exists exactly when its change committed", () => {
  it("a booking whose D1 batch fails (503) writes no event and delivers nothing; its retry delivers one", async () => {
    const hook = await createWebhook(admin, ["booking.created"]);
    const user = await createUser();
    const slotId = await createSlot();
    const before = await outboxCount("booking.created");
    expect((await whileBookingWritesFail("INSERT", () => book(user, slotId))).status).toBe(503);
    expect(await outboxCount("booking.created")).toBe(before);
    const retried = await book(user, slotId);
    expect(retried.status).toBe(201);
    const payloads = await payloadsOn(hook, 1);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await receivedOn(hook.path)).toHaveLength(1);
    expect(payloads[0].data).toEqual(retried.body);
  });

  it("a booking whose event cannot be written is not made either (503, nothing half-written)", async () => {
    await createWebhook(admin, ["booking.created"]);
    const user = await createUser();
    const slotId = await createSlot();
    expect((await whileWritesFail("webhook_events", "INSERT", () => book(user, slotId))).status).toBe(503);
    const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM bookings WHERE time_slot_id = ?").bind(slotId).first<{ n: number }>();
    expect(row!.n).toBe(0);
  });

  it("a cancellation that fails writes no booking.cancelled", async () => {
    await createWebhook(admin, ["booking.cancelled"]);
    const user = await createUser();
    const booking = await book(user, await createSlot());
    const before = await outboxCount("booking.cancelled");
    expect((await whileBookingWritesFail("UPDATE", () => cancel(user, booking.body.id))).status).toBe(503);
    expect(await outboxCount("booking.cancelled")).toBe(before);
    // Cancelling twice announces one cancellation.
    expect((await cancel(user, booking.body.id)).status).toBe(200);
    expect((await cancel(user, booking.body.id)).status).toBe(409);
    expect(await outboxCount("booking.cancelled")).toBe(before + 1);
  });

  it("100 concurrent bookings yield exactly 100 booking.created events, each delivered", async () => {
    const hook = await createWebhook(admin, ["booking.created"]);
    const users = await createUsers(130);
    const slotId = await createSlot({ capacity: 100 });
    const responses = await Promise.all(users.map((user) => book(user, slotId)));
    expect(statusCounts(responses)).toEqual({ 201: 100, 409: 30 });
    const bookedIds = responses.filter(({ status }) => status === 201).map(({ body }) => body.id);
    const events = await env.DB.prepare("SELECT json_extract(data, '$.id') AS id FROM webhook_events WHERE type = 'booking.created' AND json_extract(data, '$.time_slot_id') = ?")
      .bind(slotId)
      .all<{ id: number }>();
    expect(events.results.map(({ id }) => id).sort((a, b) => a - b)).toEqual([...bookedIds].sort((a, b) => a - b));
    const payloads = await payloadsOn(hook, 100, 60_000);
    expect(new Set(payloads.map(({ data }) => data.id))).toEqual(new Set(bookedIds));
    const received = await receivedOn(hook.path);
    expect(new Set(received.map(({ headers }) => headers["webhook-id"])).size).toBe(100);
  });

  it("an event that a crash left unsent is sent by the cron, once it is 30 s old", async () => {
    const hook = await createWebhook(admin, ["slot.updated"]);
    const slotId = await createSlot();
    // As the outbox writes it, committed but never handed to the queue.
    const [row] = (
      await env.DB.prepare(
        `INSERT INTO webhook_events (type, data, created_at)
         SELECT 'slot.updated', json_object('id', id, 'categoryId', category_id, 'startTime', start_time, 'endTime', end_time,
                'maxCapacity', max_capacity, 'bookedCount', booked_count, 'deletedAt', deleted_at,
                'heldCount', held_count, 'waitlistLength', waitlist_length), ?
           FROM time_slots WHERE id = ? RETURNING id`,
      )
        .bind(toUtcIso(new Date()), slotId)
        .all<{ id: number }>()
    ).results;
    await runCron();
    // Younger than 30 s: left to the dispatch that follows its commit.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await receivedOn(hook.path)).toEqual([]);
    await runCron(Date.now() + 31_000);
    const [payload] = await payloadsOn(hook, 1);
    expect(payload).toMatchObject({ type: "slot.updated", data: { id: slotId, available_spots: 10 } });
    const dispatched = await env.DB.prepare("SELECT dispatched_at FROM webhook_events WHERE id = ?").bind(row.id).first<{ dispatched_at: string | null }>();
    expect(dispatched!.dispatched_at).not.toBeNull();
  });
});

describe("the cron", () => {
  it("forgets events and their deliveries after 30 days", async () => {
    const hook = await createWebhook(admin, ["booking.created"]);
    const daysAgo = (days: number) => toUtcIso(new Date(Date.now() - days * 24 * 3600 * 1000));
    const insert = env.DB.prepare("INSERT INTO webhook_events (type, data, created_at, dispatched_at) VALUES ('booking.created', '{}', ?1, ?1) RETURNING id");
    const [old, recent] = await Promise.all([insert.bind(daysAgo(31)).first<{ id: number }>(), insert.bind(daysAgo(29)).first<{ id: number }>()]);
    const delivered = env.DB.prepare("INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, attempt, status_code, created_at) VALUES (?, ?, 'booking.created', 1, 204, ?)");
    await env.DB.batch([delivered.bind(hook.id, old!.id, daysAgo(31)), delivered.bind(hook.id, recent!.id, daysAgo(29))]);
    await runCron();
    const left = await env.DB.prepare("SELECT id FROM webhook_events WHERE id IN (?, ?)").bind(old!.id, recent!.id).all<{ id: number }>();
    expect(left.results.map(({ id }) => id)).toEqual([recent!.id]);
    expect((await deliveriesOf(hook.id)).body.map(({ event_id }) => event_id)).toEqual([recent!.id]);
  });
});

describe("POST /admin/webhooks", () => {
  it("answers the secret once, whsec_ + base64 of 32 bytes; GET /admin/webhooks never shows it", async () => {
    const response = await api<Record<string, unknown>>("POST", "/admin/webhooks", {
      token: admin.token,
      body: { url: "https://example.com/hooks", events: ["booking.expired", "booking.expired"] },
    });
    expect(response.status).toBe(201);
    expect(response.body).toEqual({ id: expect.any(Number), url: "https://example.com/hooks", events: ["booking.expired"], secret: expect.any(String), created_at: expect.any(String) });
    const secret = response.body.secret as string;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(atob(secret.slice("whsec_".length))).toHaveLength(32);
    const listed = await listWebhooks();
    expect(listed.body.find(({ id }) => id === response.body.id)).toEqual({
      id: response.body.id,
      url: "https://example.com/hooks",
      events: ["booking.expired"],
      created_at: response.body.created_at,
      failing_since: null,
      disabled_at: null,
    });
    expect(JSON.stringify(listed.body)).not.toContain("whsec_");
  });

  it.each([
    ["http://example.com/hook", "must use https"],
    ["https://app.localhost/hook", "must not point to this machine"],
    ["https://10.1.2.3/hook", "must not be a special-purpose address (private use)"],
    ["http://169.254.169.254/latest/meta-data", "must use https"],
    ["https://169.254.169.254/latest/meta-data", "must not be a special-purpose address (link-local, including cloud metadata endpoints)"],
    ["https://[fd00::1]/hook", "must not be a special-purpose address (unique local)"],
    ["https://user:pass@example.com/hook", "must not contain credentials"],
  ])("refuses %s even in local development: 422 webhook_url_refused (%s)", async (url, reason) => {
    const response = await api("POST", "/admin/webhooks", { token: admin.token, body: { url, events: ["booking.created"] } });
    expect(response.status).toBe(422);
    expect(response.body).toEqual({ detail: `url: ${reason}`, code: "webhook_url_refused", errors: [{ field: "url", message: reason }] });
  });

  it.each([
    [{ url: "not a url", events: ["booking.created"] }, "url"],
    [{ url: "https://example.com", events: [] }, "events"],
    [{ url: "https://example.com", events: ["booking.exploded"] }, "events.0"],
    [{ url: `https://example.com/${"a".repeat(2048)}`, events: ["booking.created"] }, "url"],
  ])("refuses %j: 422 naming %s", async (body, field) => {
    const response = await api<{ errors: { field: string }[] }>("POST", "/admin/webhooks", { token: admin.token, body });
    expect(response.status).toBe(422);
    expect(response.body.errors.map((error) => error.field)).toContain(field);
  });

  it("is audited without the secret, as is the deletion", async () => {
    const hook = await createWebhook(admin, ["booking.expired"]);
    expect((await api("DELETE", `/admin/webhooks/${hook.id}`, { token: admin.token })).status).toBe(200);
    const audit = await api<{ action: string; target: string; actor_id: number; before: unknown; after: unknown }[]>("GET", "/admin/audit?limit=2", { token: admin.token });
    expect(audit.body).toEqual([
      expect.objectContaining({ action: "webhook.delete", target: `webhook:${hook.id}`, actor_id: admin.id, before: { url: hook.url, events: ["booking.expired"] }, after: null }),
      expect.objectContaining({ action: "webhook.create", target: `webhook:${hook.id}`, actor_id: admin.id, before: null, after: { url: hook.url, events: ["booking.expired"] } }),
    ]);
  });
});

describe("the deployment's URL policy (refusalOf without loopback)", () => {
  it.each([
    ["https://example.com/hook", undefined],
    ["https://93.184.216.34:8443/hook", undefined],
    ["https://[2606:4700::1111]/hook", undefined],
    ["http://127.0.0.1:8790/", "must use https"],
    ["https://127.0.0.1:8790/", "must not be a special-purpose address (loopback)"],
    ["https://0x7f.1/", "must not be a special-purpose address (loopback)"],
    ["https://[::1]/", "must not be a special-purpose address (loopback)"],
    ["https://[::ffff:192.168.0.1]/", "must not be a special-purpose address (private use)"],
    ["https://[fe80::1]/", "must not be a special-purpose address (link-local)"],
    ["https://172.31.255.255/", "must not be a special-purpose address (private use)"],
    ["https://172.32.0.1/", undefined],
    ["https://100.64.0.1/", "must not be a special-purpose address (shared address space (carrier-grade NAT))"],
    ["https://app.localhost/", "must not point to this machine"],
    ["https://LOCALHOST./", "must not point to this machine"],
  ])("%s: %s", (url, refusal) => {
    expect(refusalOf(new URL(url), false)).toBe(refusal);
  });

  it("local development also accepts http and https on 127.0.0.1, [::1] and localhost, and nothing else private", () => {
    for (const url of ["http://127.0.0.1:8790/", "https://[::1]:8443/", "http://localhost:8790/hook"]) expect(refusalOf(new URL(url), true)).toBeUndefined();
    expect(refusalOf(new URL("http://192.168.1.10:8790/"), true)).toBe("must use https");
    expect(refusalOf(new URL("https://127.0.0.2/"), true)).toBe("must not be a special-purpose address (loopback)");
  });
});

describe("DELETE /admin/webhooks/{webhook_id} and GET .../deliveries", () => {
  it("deletes a webhook and its history; both answer 404 webhook_not_found afterwards", async () => {
    const hook = await createWebhook(admin, ["booking.created"]);
    await book(await createUser(), await createSlot());
    await eventually(() => deliveriesOf(hook.id), ({ body }) => Array.isArray(body) && body.length === 1);
    expect((await api("DELETE", `/admin/webhooks/${hook.id}`, { token: admin.token })).body).toEqual({ message: "Webhook deleted" });
    const again = await api("DELETE", `/admin/webhooks/${hook.id}`, { token: admin.token });
    expect([again.status, (again.body as { code: string }).code]).toEqual([404, "webhook_not_found"]);
    expect((await deliveriesOf(hook.id)).body).toMatchObject({ code: "webhook_not_found" });
    const left = await env.DB.prepare("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE webhook_id = ?").bind(hook.id).first<{ n: number }>();
    expect(left!.n).toBe(0);
  });

  it("lists the latest attempts first, at most `limit`", async () => {
    const hook = await createWebhook(admin, ["booking.created"]);
    const users = await createUsers(3);
    for (const user of users) await book(user, await createSlot());
    await eventually(() => deliveriesOf(hook.id), ({ body }) => Array.isArray(body) && body.length === 3);
    const limited = await settle(
      client.admin.webhooks[":webhook_id"].deliveries.$get({ param: { webhook_id: String(hook.id) }, query: { limit: "2" } }, as(admin)),
    );
    expect(limited.body).toHaveLength(2);
    const [newest, older] = limited.body;
    expect(newest.id).toBeGreaterThan(older.id);
  });
});

describe("the OpenAPI document", () => {
  it("describes the payload of every event type under `webhooks`", async () => {
    const { body } = await api<{ webhooks: Record<string, { post: { operationId: string } }> }>("GET", "/openapi.json");
    expect(Object.keys(body.webhooks).sort()).toEqual(
      [
        "booking.cancelled",
        "booking.check_in_undone",
        "booking.checked_in",
        "booking.created",
        "booking.expired",
        "booking.promoted",
        "booking.rescheduled",
        "slot.created",
        "slot.deleted",
        "slot.updated",
        "waitlist.closed",
      ],
    );
    expect(body.webhooks["booking.created"].post.operationId).toBe("bookingCreatedEvent");
  });
});
