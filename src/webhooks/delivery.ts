import { and, eq, isNull, sql } from "drizzle-orm";
import { database } from "../db/client";
import { webhookDeliveries, webhookEvents, webhooks } from "../db/schema";
import { nowUtcIso, toUtcIso } from "../db/time";
import { eventPayload, type WebhookMessage } from "./schemas";
import { signatureHeaders } from "./signing";

// The queue consumer: one POST per message, signed, recorded in webhook_deliveries. A 2xx answer
// acknowledges the message; anything else (another status, no answer within 10 s, a refused
// connection) retries it on the schedule below, and a webhook that has failed for 3 days in a row
// is disabled.

/** Seconds to wait after failed attempt n (1-based) before attempt n + 1: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h. */
export const RETRY_DELAYS_SECONDS = [5, 300, 1_800, 7_200, 18_000, 36_000];
export const ATTEMPT_TIMEOUT_MS = 10_000;
export const DISABLE_AFTER_FAILING_MS = 3 * 24 * 60 * 60 * 1000;
const MAX_ERROR_LENGTH = 200;

/** The delay before the attempt that follows failed attempt `attempt`; undefined after the last one. */
export function retryDelaySeconds(attempt: number): number | undefined {
  return RETRY_DELAYS_SECONDS[attempt - 1];
}

/** POSTs `body`; the status the endpoint answered, or why it did not. */
async function post(url: string, headers: Record<string, string>, body: string): Promise<{ statusCode: number | null; error: string | null }> {
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
  const [[webhook], [event]] = await db.batch([
    db.select().from(webhooks).where(and(eq(webhooks.id, webhookId), isNull(webhooks.disabledAt))),
    db.select().from(webhookEvents).where(eq(webhookEvents.id, eventId)),
  ]);
  // Deleted or disabled since the message was sent: nothing to deliver.
  if (!webhook || !event) return message.ack();

  const body = JSON.stringify(eventPayload(event));
  const headers = await signatureHeaders(webhook.secret, `evt_${event.id}`, Math.floor(Date.now() / 1000), body);
  const { statusCode, error } = await post(webhook.url, headers, body);
  const succeeded = statusCode !== null && statusCode >= 200 && statusCode < 300;

  const now = nowUtcIso();
  const failingTooLong = sql`${webhooks.failingSince} <= ${toUtcIso(new Date(Date.now() - DISABLE_AFTER_FAILING_MS))}`;
  const [, [after]] = await db.batch([
    db.insert(webhookDeliveries).values({ webhookId, eventId, eventType: event.type, attempt: message.attempts, statusCode, error, createdAt: now }),
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
  ]);
  const delaySeconds = retryDelaySeconds(message.attempts);
  if (succeeded || after?.disabledAt || delaySeconds === undefined) return message.ack();
  message.retry({ delaySeconds });
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
