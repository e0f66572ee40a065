import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { asc, desc, eq } from "drizzle-orm";
import { auditWebhookCreated, auditWebhookDeleted } from "../audit/record-accounts";
import { requireAdmin } from "../auth/middleware";
import { WEBHOOK_EVENT_TYPES, webhookDeliveries, webhooks } from "../db/schema";
import { nowUtcIso } from "../db/time";
import { webhookNotFound, webhookUrlRefused } from "../errors/catalogue";
import { createRouter } from "../http/app";
import { d1Session } from "../http/d1-session";
import { bearerAuth, errorResponses, jsonBody, jsonResponse } from "../http/openapi";
import { LATEST_PAGE, LatestQuery } from "../http/paging";
import { MessageSchema } from "../http/schemas";
import type { AppEnv } from "../http/types";
import {
  CreatedWebhookSchema,
  DeliverySchema,
  EVENT_DOCS,
  eventPayloadSchema,
  NewWebhookSchema,
  WebhookIdParams,
  WebhookSchema,
} from "./schemas";
import { newSecret } from "./signing";
import { refusalOf } from "./url-policy";

const admin = { tags: ["Admin"], security: bearerAuth };

const createWebhook = createRoute({
  ...admin,
  method: "post",
  path: "/admin/webhooks",
  operationId: "createWebhook",
  summary: "Subscribe an endpoint to events",
  description:
    "Events are POSTed as the `webhooks` section describes. 422 `webhook_url_refused`: not https, credentials in the URL, a port below 1024 other than 443, or a special-purpose address; the same policy is checked again at every delivery.",
  middleware: [requireAdmin, d1Session] as const,
  request: { body: jsonBody(NewWebhookSchema) },
  responses: {
    201: jsonResponse(CreatedWebhookSchema, "Subscribed; `secret` is not shown again"),
    ...errorResponses(401, 403, 413, 422, 503),
  },
});

const listWebhooks = createRoute({
  ...admin,
  method: "get",
  path: "/admin/webhooks",
  operationId: "listWebhooks",
  summary: "List webhooks, with whether each is failing or disabled",
  middleware: [requireAdmin, d1Session] as const,
  responses: {
    200: jsonResponse(z.array(WebhookSchema), "Webhooks by id"),
    ...errorResponses(401, 403, 422, 503),
  },
});

const deleteWebhook = createRoute({
  ...admin,
  method: "delete",
  path: "/admin/webhooks/{webhook_id}",
  operationId: "deleteWebhook",
  summary: "Delete a webhook and its delivery history; nothing more is sent to it",
  middleware: [requireAdmin, d1Session] as const,
  request: { params: WebhookIdParams },
  responses: {
    200: jsonResponse(MessageSchema, "Webhook deleted"),
    ...errorResponses(401, 403, 404, 422, 503),
  },
});

const listDeliveries = createRoute({
  ...admin,
  method: "get",
  path: "/admin/webhooks/{webhook_id}/deliveries",
  operationId: "listWebhookDeliveries",
  summary: "The latest delivery attempts to a webhook, newest first",
  middleware: [requireAdmin, d1Session] as const,
  request: { params: WebhookIdParams, query: LatestQuery },
  responses: {
    200: jsonResponse(z.array(DeliverySchema), "Attempts, newest first"),
    ...errorResponses(401, 403, 404, 422, 503),
  },
});

const webhookColumns = {
  id: webhooks.id,
  url: webhooks.url,
  events: webhooks.events,
  created_at: webhooks.createdAt,
  failing_since: webhooks.failingSince,
  disabled_at: webhooks.disabledAt,
};

export const webhookRoutes = createRouter()
  .openapi(createWebhook, async (c) => {
    const { url, events } = c.req.valid("json");
    const refusal = refusalOf(new URL(url), c.env.WEBHOOKS_ALLOW_LOOPBACK === "true");
    if (refusal) throw webhookUrlRefused(refusal);
    const db = c.var.db;
    const [[webhook]] = await db.batch([
      db.insert(webhooks).values({ url, events, secret: newSecret(), createdAt: nowUtcIso() }).returning(),
      auditWebhookCreated(db, c.get("user").id),
    ]);
    return c.json({ id: webhook.id, url: webhook.url, events: webhook.events, secret: webhook.secret, created_at: webhook.createdAt }, 201);
  })
  .openapi(listWebhooks, async (c) => {
    return c.json(await c.var.db.select(webhookColumns).from(webhooks).orderBy(asc(webhooks.id)), 200);
  })
  .openapi(deleteWebhook, async (c) => {
    const webhookId = c.req.valid("param").webhook_id;
    const db = c.var.db;
    const [, deleted] = await db.batch([
      auditWebhookDeleted(db, c.get("user").id, webhookId),
      db.delete(webhooks).where(eq(webhooks.id, webhookId)).returning({ id: webhooks.id }),
    ]);
    if (deleted.length === 0) throw webhookNotFound();
    return c.json({ message: "Webhook deleted" }, 200);
  })
  .openapi(listDeliveries, async (c) => {
    const webhookId = c.req.valid("param").webhook_id;
    const { limit = LATEST_PAGE.default } = c.req.valid("query");
    const db = c.var.db;
    const [[webhook], deliveries] = await db.batch([
      db.select({ id: webhooks.id }).from(webhooks).where(eq(webhooks.id, webhookId)),
      db
        .select({
          id: webhookDeliveries.id,
          event_id: webhookDeliveries.eventId,
          event_type: webhookDeliveries.eventType,
          attempt: webhookDeliveries.attempt,
          status_code: webhookDeliveries.statusCode,
          error: webhookDeliveries.error,
          created_at: webhookDeliveries.createdAt,
        })
        .from(webhookDeliveries)
        .where(eq(webhookDeliveries.webhookId, webhookId))
        .orderBy(desc(webhookDeliveries.id))
        .limit(limit),
    ]);
    if (!webhook) throw webhookNotFound();
    return c.json(deliveries, 200);
  });

/** Documents what an endpoint receives for each event type, in the OpenAPI document's `webhooks` section. */
export function documentWebhookEvents(app: OpenAPIHono<AppEnv>) {
  for (const type of WEBHOOK_EVENT_TYPES) {
    app.openAPIRegistry.registerWebhook({
      method: "post",
      path: type,
      operationId: `${type.replace(/\.(\w)/, (_, letter: string) => letter.toUpperCase())}Event`,
      summary: EVENT_DOCS[type].when,
      description: "Standard Webhooks: `webhook-id` (the same in retries), `webhook-timestamp`, `webhook-signature: v1,<HMAC-SHA256>`.",
      // The receiver checks the signature headers, not a security scheme of this API.
      security: [],
      request: { body: jsonBody(eventPayloadSchema(type)) },
      responses: { 200: { description: "Any 2xx within 10 s; else retried after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h" } },
    });
  }
}
