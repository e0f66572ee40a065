import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { toUtcIso } from "../src/db/time";
import { RESEND_AFTER_MS } from "../src/webhooks/dispatch";
import { deliverWebhooks } from "../src/webhooks/delivery";
import type { WebhookMessage } from "../src/webhooks/schemas";
import { book } from "./support/bookings";
import { eventually } from "./support/properties";
import { createSlot } from "./support/slots";
import { createUser, type TestUser } from "./support/users";
import { createWebhook, receivedOn, runCron } from "./support/webhooks";

// Delivery at least once whatever the queue does: a delivery handed to the queue stays pending
// (webhook_pending) until an attempt that ends it is recorded, and the cron sends it again when the
// queue has lost its message. And the URL policy is checked at every attempt, not only at creation.

let admin: TestUser;
beforeAll(async () => {
  admin = await createUser("ADMIN");
});
afterEach(async () => {
  await env.DB.prepare("DELETE FROM webhooks").run();
});

type Hook = Awaited<ReturnType<typeof createWebhook>>;

/**
 * A slot.updated event for `hook`, handed over at `handedAt` (pending, its resend due RESEND_AFTER_MS
 * later) with no message in the queue: what a crash of the local queue leaves behind.
 */
async function handedOverAndLost(hook: Hook, handedAt = Date.now()): Promise<number> {
  const slotId = await createSlot();
  const event = await env.DB.prepare(
    `INSERT INTO webhook_events (type, data, created_at, dispatched_at)
     SELECT 'slot.updated', json_object('id', id, 'categoryId', category_id, 'startTime', start_time, 'endTime', end_time,
            'maxCapacity', max_capacity, 'bookedCount', booked_count, 'deletedAt', deleted_at,
            'heldCount', held_count, 'waitlistLength', waitlist_length), ?1, ?1
       FROM time_slots WHERE id = ? RETURNING id`,
  )
    .bind(toUtcIso(new Date(handedAt)), slotId)
    .first<{ id: number }>();
  await env.DB.prepare("INSERT INTO webhook_pending (event_id, webhook_id, attempts, resend_at) VALUES (?, ?, 0, ?)")
    .bind(event!.id, hook.id, toUtcIso(new Date(handedAt + RESEND_AFTER_MS)))
    .run();
  return event!.id;
}

const pendingOf = (eventId: number) =>
  env.DB.prepare("SELECT attempts, resend_at FROM webhook_pending WHERE event_id = ?").bind(eventId).first<{ attempts: number; resend_at: string }>();
const deliveriesOf = async (eventId: number) =>
  (await env.DB.prepare("SELECT attempt, status_code, error FROM webhook_deliveries WHERE event_id = ? ORDER BY id").bind(eventId).all()).results;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the queue consumer on one message, with `environment` in place of the Worker's. */
async function consume(message: WebhookMessage, environment: Env = env) {
  const batch = createMessageBatch<WebhookMessage>("slotbook-webhooks", [{ id: crypto.randomUUID(), timestamp: Date.now(), attempts: 1, body: message }]);
  const ctx = createExecutionContext();
  await deliverWebhooks(batch, environment);
  return getQueueResult(batch, ctx);
}

describe("delivery at least once, whatever the queue does", () => {
  it("a delivery handed to the queue is sent again by the cron when not recorded 2 minutes later, with the same webhook-id", async () => {
    expect(RESEND_AFTER_MS).toBe(2 * 60_000);
    const hook = await createWebhook(admin, ["slot.updated"]);
    const now = Date.now();
    const eventId = await handedOverAndLost(hook, now);
    await runCron(now + RESEND_AFTER_MS - 5_000);
    await pause(1_500);
    expect(await receivedOn(hook.path)).toEqual([]);
    expect(await pendingOf(eventId)).not.toBeNull();

    await runCron(now + RESEND_AFTER_MS + 1_000);
    const [received] = await eventually(() => receivedOn(hook.path), (list) => list.length === 1);
    expect(received.headers["webhook-id"]).toBe(`evt_${eventId}`);
    // Done once its delivery is recorded: nothing pending, and later runs send nothing more.
    await eventually(() => pendingOf(eventId), (row) => row === null);
    expect(await deliveriesOf(eventId)).toEqual([{ attempt: 1, status_code: 204, error: null }]);
    await runCron(now + 10 * RESEND_AFTER_MS);
    await pause(1_500);
    expect(await receivedOn(hook.path)).toHaveLength(1);
  });

  it("an event handed over by its change stays pending until its attempt is recorded", async () => {
    const hook = await createWebhook(admin, ["booking.created"]);
    expect((await book(await createUser(), await createSlot())).status).toBe(201);
    const [received] = await eventually(() => receivedOn(hook.path), (list) => list.length === 1);
    const eventId = Number(received.headers["webhook-id"].slice("evt_".length));
    await eventually(() => pendingOf(eventId), (pending) => pending === null);
    expect(await deliveriesOf(eventId)).toEqual([{ attempt: 1, status_code: 204, error: null }]);
  });

  it("a failed attempt keeps its delivery pending, due again after the retry delay plus 2 minutes", async () => {
    const hook = await createWebhook(admin, ["slot.updated"], "fail");
    const eventId = await handedOverAndLost(hook);
    const before = Date.now();
    await consume({ event_id: eventId, webhook_id: hook.id, attempt: 0 });
    const pending = await pendingOf(eventId);
    expect(pending?.attempts).toBe(1);
    const due = Date.parse(pending!.resend_at) - before;
    expect(due).toBeGreaterThanOrEqual(5_000 + RESEND_AFTER_MS - 1_000);
    expect(due).toBeLessThanOrEqual(5_000 + RESEND_AFTER_MS + 2_000);
  });

  it("a copy of a message whose attempt another copy has recorded sends nothing", async () => {
    const hook = await createWebhook(admin, ["slot.updated"], "fail");
    const eventId = await handedOverAndLost(hook);
    await consume({ event_id: eventId, webhook_id: hook.id, attempt: 0 });
    const result = await consume({ event_id: eventId, webhook_id: hook.id, attempt: 0 });
    expect(result.explicitAcks).toHaveLength(1);
    expect(await receivedOn(hook.path)).toHaveLength(1);
    expect(await deliveriesOf(eventId)).toHaveLength(1);
  });
});

describe("the URL policy at every delivery", () => {
  it("a webhook made while loopback was allowed gets nothing once it is not: a failed attempt with the reason", async () => {
    const hook = await createWebhook(admin, ["slot.updated"]);
    const eventId = await handedOverAndLost(hook);
    const withoutLoopback: Env = { ...env, WEBHOOKS_ALLOW_LOOPBACK: undefined };
    await consume({ event_id: eventId, webhook_id: hook.id, attempt: 0 }, withoutLoopback);
    expect(await deliveriesOf(eventId)).toEqual([{ attempt: 1, status_code: null, error: "not sent: the URL policy refuses it (must use https)" }]);
    expect(await receivedOn(hook.path)).toEqual([]);
    expect((await pendingOf(eventId))?.attempts).toBe(1);
  });

  it("a webhook whose stored URL the policy refuses is never POSTed to, whatever created it", async () => {
    const hook = await createWebhook(admin, ["booking.created"]);
    await env.DB.prepare("UPDATE webhooks SET url = 'https://169.254.169.254/latest' WHERE id = ?").bind(hook.id).run();
    expect((await book(await createUser(), await createSlot())).status).toBe(201);
    const [attempt] = await eventually(
      async () => (await env.DB.prepare("SELECT status_code, error FROM webhook_deliveries WHERE webhook_id = ?").bind(hook.id).all()).results,
      (rows) => rows.length === 1,
    );
    expect(attempt).toEqual({ status_code: null, error: "not sent: the URL policy refuses it (must not be a special-purpose address (link-local, including cloud metadata endpoints))" });
  });
});
