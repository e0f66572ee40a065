import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, inject } from "vitest";
import type { WebhookEventType } from "../../src/db/schema";
import worker from "../../src/index";
import type { ReceivedWebhook } from "../webhook-receiver";
import { as, client, settle } from "./client";
import { unique, type TestUser } from "./users";

// Webhooks for tests: the receiver started by test/global-setup.ts, and the cron run on demand.

/** The webhook receiver started by test/global-setup.ts: a real HTTP server on 127.0.0.1. */
const RECEIVER = inject("webhookReceiver");

/**
 * A webhook made through the API, pointing to a fresh path of the test receiver: /ok/... answers
 * 204, /fail-first/... 503 to the first attempt of each event, /fail/... always 500.
 */
export async function createWebhook(admin: TestUser, events: WebhookEventType[], behaviour: "ok" | "fail-first" | "fail" = "ok") {
  const path = `/${behaviour}/${unique()}`;
  const response = await settle(client.admin.webhooks.$post({ json: { url: `${RECEIVER}${path}`, events } }, as(admin)));
  expect(response.status).toBe(201);
  return { ...response.body, path };
}

/** What the receiver has got on `path` so far, oldest first. */
export async function receivedOn(path: string): Promise<ReceivedWebhook[]> {
  return (await fetch(`${RECEIVER}/received?path=${encodeURIComponent(path)}`)).json();
}

/** Runs the Worker's cron (src/index.ts, `scheduled`) as if it fired at `at`, and waits for it. */
export async function runCron(at = Date.now()): Promise<void> {
  await worker.scheduled(createScheduledController({ scheduledTime: at }), env);
}
