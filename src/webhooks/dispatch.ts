import { and, between, isNull, lte, sql } from "drizzle-orm";
import { database } from "../db/client";
import { webhookEvents, webhookPending, webhooks } from "../db/schema";
import { nowUtcIso, toUtcIso } from "../db/time";
import type { WebhookMessage } from "./schemas";

// From the outbox to the queue. An event's deliveries (one per subscribed webhook) are handed over
// by recording them in webhook_pending and marking the event dispatched, in one batch, then sending
// their queue messages. Right after its batch commits, a change's events are handed over by
// `dispatcher`; the cron (maintenance/scheduled.ts) hands over what a crash or a failure left, and
// sends again every pending delivery not recorded RESEND_AFTER_MS after it was due, whatever
// happened to its message. So delivery is at least once: an endpoint tells repeats apart by the
// `webhook-id` header.

/** Queues' sendBatch takes at most 100 messages. */
const QUEUE_BATCH = 100;
/** A delivery handed over (or due for a retry) and not recorded this long after is sent again by the cron. */
export const RESEND_AFTER_MS = 2 * 60_000;

/** The time after which the cron sends a delivery again, for one due at `dueMs`. */
export const resendAt = (dueMs: number) => toUtcIso(new Date(dueMs + RESEND_AFTER_MS));

/** Sends one queue message per delivery, `delaySeconds` from now. */
export async function sendMessages(env: Env, messages: WebhookMessage[], delaySeconds?: number): Promise<void> {
  for (let i = 0; i < messages.length; i += QUEUE_BATCH) {
    await env.WEBHOOK_QUEUE.sendBatch(messages.slice(i, i + QUEUE_BATCH).map((body) => ({ body, contentType: "json", delaySeconds })));
  }
}

/**
 * Hands over the undispatched events with ids from `first` to `last` (and, for the cron, written no
 * later than `writtenBy`) to every enabled webhook that subscribes to their type and existed when
 * they were written. A delivery recorded as pending by a concurrent hand-over is not sent twice.
 */
export async function sendEvents(env: Env, first: number, last: number, writtenBy?: string): Promise<void> {
  const db = database(env.DB);
  const undispatched = and(
    between(webhookEvents.id, first, last),
    isNull(webhookEvents.dispatchedAt),
    writtenBy === undefined ? undefined : lte(webhookEvents.createdAt, writtenBy),
  );
  const deliveries = db
    .select({
      eventId: sql<number>`${webhookEvents.id}`.as("event_id"),
      webhookId: sql<number>`${webhooks.id}`.as("webhook_id"),
      attempts: sql<number>`0`.as("attempts"),
      resendAt: sql<string>`${resendAt(Date.now())}`.as("resend_at"),
    })
    .from(webhookEvents)
    .innerJoin(
      webhooks,
      and(
        isNull(webhooks.disabledAt),
        lte(webhooks.createdAt, webhookEvents.createdAt),
        sql`${webhookEvents.type} IN (SELECT value FROM json_each(${webhooks.events}))`,
      ),
    )
    .where(undispatched);
  const [handedOver] = await db.batch([
    db
      .insert(webhookPending)
      .select(deliveries)
      .onConflictDoNothing()
      .returning({ event_id: webhookPending.eventId, webhook_id: webhookPending.webhookId, attempt: webhookPending.attempts }),
    db.update(webhookEvents).set({ dispatchedAt: nowUtcIso() }).where(undispatched),
  ]);
  await sendMessages(env, handedOver);
}

/**
 * Passes on the results of a committed batch, and hands over in the background of `ctx` (a
 * request's or a Durable Object's) the events that its event statements (outbox.ts) wrote: every
 * result row with a `webhookEventId`, a name no other statement returns.
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
