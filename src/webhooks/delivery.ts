import { and, eq, exists, isNotNull, isNull, sql } from "drizzle-orm";
import { database } from "../db/client";
import { webhookDeliveries, webhookEvents, webhookPending, webhooks } from "../db/schema";
import { nowUtcIso, toUtcIso } from "../db/time";
import { resendAt, sendMessages } from "./dispatch";
import { eventPayload, type WebhookMessage } from "./schemas";
import { signatureHeaders } from "./signing";
import { refusalOf } from "./url-policy";

// The queue consumer: one POST per message, signed, recorded in webhook_deliveries. A 2xx answer
// ends the delivery; anything else (another status, no answer within 10 s, a refused connection, a
// URL that the policy refuses today) is a failed attempt, retried on the schedule below, and a
// webhook that has failed for 3 days in a row is disabled. The delivery's row in webhook_pending
// (dispatch.ts) is what counts: it is deleted in the batch that records the attempt ending it, and
// while it exists the cron sends it again if its message is lost.

/** Seconds to wait after failed attempt n (1-based) before attempt n + 1: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h. */
export const RETRY_DELAYS_SECONDS = [5, 300, 1_800, 7_200, 18_000, 36_000];
export const ATTEMPT_TIMEOUT_MS = 10_000;
export const DISABLE_AFTER_FAILING_MS = 3 * 24 * 60 * 60 * 1000;
const MAX_ERROR_LENGTH = 200;

/** The delay before the attempt that follows failed attempt `attempt`; undefined after the last one. */
export function retryDelaySeconds(attempt: number): number | undefined {
  return RETRY_DELAYS_SECONDS[attempt - 1];
}

type Outcome = { statusCode: number | null; error: string | null };

/** POSTs `body`; the status the endpoint answered, or why it did not. */
async function post(url: string, headers: Record<string, string>, body: string): Promise<Outcome> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json", "user-agent": "slotbook-webhooks" },
      body,
      // A redirect is a failure, not followed: it could lead to an address the URL policy refuses.
      redirect: "manual",
      signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
    });
    await response.body?.cancel();
    return { statusCode: response.status, error: null };
  } catch (error) {
    const timedOut = error instanceof Error && error.name === "TimeoutError";
    const reason = timedOut ? `no answer within ${ATTEMPT_TIMEOUT_MS / 1000} s` : error instanceof Error ? error.message : String(error);
    return { statusCode: null, error: reason.slice(0, MAX_ERROR_LENGTH) };
  }
}

async function deliver(message: Message<WebhookMessage>, env: Env): Promise<void> {
  const db = database(env.DB);
  const { event_id: eventId, webhook_id: webhookId } = message.body;
  const thisDelivery = and(eq(webhookPending.eventId, eventId), eq(webhookPending.webhookId, webhookId));
  const [[pending], [webhook], [event]] = await db.batch([
    db.select().from(webhookPending).where(thisDelivery),
    db.select().from(webhooks).where(and(eq(webhooks.id, webhookId), isNull(webhooks.disabledAt))),
    db.select().from(webhookEvents).where(eq(webhookEvents.id, eventId)),
  ]);
  // Done already (recorded; the webhook or event deleted), or a copy whose attempt another copy made.
  if (!pending || (message.body.attempt !== undefined && message.body.attempt !== pending.attempts)) return message.ack();
  if (!webhook || !event) {
    // Disabled since the message was sent: nothing to deliver.
    await db.delete(webhookPending).where(thisDelivery);
    return message.ack();
  }

  const attempt = pending.attempts + 1;
  const refusal = refusalOf(new URL(webhook.url), env.WEBHOOKS_ALLOW_LOOPBACK === "true");
  let outcome: Outcome;
  if (refusal) {
    outcome = { statusCode: null, error: `not sent: the URL policy refuses it (${refusal})` };
  } else {
    const body = JSON.stringify(eventPayload(event));
    const headers = await signatureHeaders(webhook.secret, `evt_${event.id}`, Math.floor(Date.now() / 1000), body);
    outcome = await post(webhook.url, headers, body);
  }
  const succeeded = outcome.statusCode !== null && outcome.statusCode >= 200 && outcome.statusCode < 300;
  const delaySeconds = succeeded ? undefined : retryDelaySeconds(attempt);

  const now = nowUtcIso();
  const failingTooLong = sql`${webhooks.failingSince} <= ${toUtcIso(new Date(Date.now() - DISABLE_AFTER_FAILING_MS))}`;
  const disabled = exists(db.select({ id: webhooks.id }).from(webhooks).where(and(eq(webhooks.id, webhookId), isNotNull(webhooks.disabledAt))));
  const [, [after]] = await db.batch([
    db.insert(webhookDeliveries).values({ webhookId, eventId, eventType: event.type, attempt, ...outcome, createdAt: now }),
    db
      .update(webhooks)
      .set(
        succeeded
          ? { failingSince: null }
          : {
              failingSince: sql`coalesce(${webhooks.failingSince}, ${now})`,
              disabledAt: sql`CASE WHEN ${failingTooLong} THEN ${now} ELSE ${webhooks.disabledAt} END`,
            },
      )
      .where(eq(webhooks.id, webhookId))
      .returning({ disabledAt: webhooks.disabledAt }),
    delaySeconds === undefined
      ? db.delete(webhookPending).where(thisDelivery)
      : db
          .update(webhookPending)
          .set({ attempts: attempt, resendAt: resendAt(Date.now() + delaySeconds * 1000) })
          .where(thisDelivery),
    db.delete(webhookPending).where(and(thisDelivery, disabled)),
  ]);
  message.ack();
  if (delaySeconds !== undefined && !after?.disabledAt) {
    const retry = { event_id: eventId, webhook_id: webhookId, attempt };
    await sendMessages(env, [retry], delaySeconds).catch((error: unknown) =>
      console.error(`the retry of webhook event ${eventId} was not queued; the cron will send it`, error),
    );
  }
}

/** The Worker's queue handler. A message whose delivery could not even be recorded (D1 failing) is retried as it is. */
export async function deliverWebhooks(batch: MessageBatch<WebhookMessage>, env: Env): Promise<void> {
  await Promise.all(
    batch.messages.map((message) =>
      deliver(message, env).catch((error: unknown) => {
        console.error(`webhook message ${message.id} failed; retrying it`, error);
        message.retry({ delaySeconds: RETRY_DELAYS_SECONDS[0] });
      }),
    ),
  );
}
