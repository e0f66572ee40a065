import { and, asc, between, isNotNull, isNull, lte, max, min, sql } from "drizzle-orm";
import { database } from "../db/client";
import { webhookEvents, webhooks } from "../db/schema";
import { nowUtcIso, toUtcIso } from "../db/time";
import type { WebhookMessage } from "./schemas";

// From the outbox to the queue: one message per (event, subscribed webhook), then the events are
// marked dispatched. Right after its batch commits, a change's events are sent by `dispatcher`;
// the cron sends what a crash or a failure left unsent (`sendUnsent`). Sending comes before
// marking, so an event may be sent twice but never lost: delivery is at least once, and an
// endpoint tells repeats apart by the `webhook-id` header.

/** Queues' sendBatch takes at most 100 messages. */
const QUEUE_BATCH = 100;
/** Events younger than this are left to the dispatch that follows their commit. */
export const SWEEP_GRACE_MS = 30_000;
const SWEEP_CHUNK = 500;

/**
 * Sends the undispatched events with ids from `first` to `last` (and, for the sweep, written no
 * later than `writtenBy`) to every enabled webhook that subscribes to their type and existed when
 * they were written.
 */
async function sendEvents(env: Env, first: number, last: number, writtenBy?: string): Promise<void> {
  const db = database(env.DB);
  const pending = and(
    between(webhookEvents.id, first, last),
    isNull(webhookEvents.dispatchedAt),
    writtenBy === undefined ? undefined : lte(webhookEvents.createdAt, writtenBy),
  );
  const messages: WebhookMessage[] = await db
    .select({ event_id: webhookEvents.id, webhook_id: webhooks.id })
    .from(webhookEvents)
    .innerJoin(
      webhooks,
      and(
        isNull(webhooks.disabledAt),
        lte(webhooks.createdAt, webhookEvents.createdAt),
        sql`${webhookEvents.type} IN (SELECT value FROM json_each(${webhooks.events}))`,
      ),
    )
    .where(pending);
  for (let i = 0; i < messages.length; i += QUEUE_BATCH) {
    await env.WEBHOOK_QUEUE.sendBatch(messages.slice(i, i + QUEUE_BATCH).map((body) => ({ body, contentType: "json" })));
  }
  await db.update(webhookEvents).set({ dispatchedAt: nowUtcIso() }).where(pending);
}

/**
 * Passes on the results of a committed batch, and sends in the background of `ctx` (a request's or
 * a Durable Object's) the events that its event statements (outbox.ts) wrote: every result row
 * with a `webhookEventId`, a name no other statement returns.
 */
export function dispatcher(env: Env, ctx: { waitUntil(promise: Promise<unknown>): void }) {
  return <T extends readonly unknown[]>(results: T): T => {
    const ids = results.flatMap((result) =>
      Array.isArray(result) ? result.flatMap((row: { webhookEventId?: number }) => (row.webhookEventId === undefined ? [] : [row.webhookEventId])) : [],
    );
    if (ids.length > 0) {
      // One batch's events have consecutive ids: no other write runs inside its transaction.
      const [first, last] = [ids.reduce((a, b) => Math.min(a, b)), ids.reduce((a, b) => Math.max(a, b))];
      const unsent = (error: unknown) => console.error(`webhook events ${first}-${last} not sent yet; the cron will send them`, error);
      ctx.waitUntil(sendEvents(env, first, last).catch(unsent));
    }
    return results;
  };
}

/** Delivery records and dispatched events are kept this long. */
export const HISTORY_MS = 30 * 24 * 60 * 60 * 1000;

/** The cron's part: sends what is left unsent, and forgets events (with their deliveries) older than HISTORY_MS. */
export async function sweepOutbox(env: Env, now = Date.now()): Promise<void> {
  await sendUnsent(env, now);
  const expired = toUtcIso(new Date(now - HISTORY_MS));
  await database(env.DB)
    .delete(webhookEvents)
    .where(and(isNotNull(webhookEvents.dispatchedAt), lte(webhookEvents.createdAt, expired)));
}

/** Sends every event written more than SWEEP_GRACE_MS before `now` and still undispatched, oldest first. */
async function sendUnsent(env: Env, now = Date.now()): Promise<void> {
  const writtenBy = toUtcIso(new Date(now - SWEEP_GRACE_MS));
  const db = database(env.DB);
  for (;;) {
    const oldest = db
      .select({ id: webhookEvents.id })
      .from(webhookEvents)
      .where(and(isNull(webhookEvents.dispatchedAt), lte(webhookEvents.createdAt, writtenBy)))
      .orderBy(asc(webhookEvents.id))
      .limit(SWEEP_CHUNK)
      .as("oldest");
    const [range] = await db.select({ first: min(oldest.id), last: max(oldest.id) }).from(oldest);
    if (range.first === null || range.last === null) return;
    await sendEvents(env, range.first, range.last, writtenBy);
  }
}
