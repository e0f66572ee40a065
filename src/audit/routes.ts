import { createRoute, z } from "@hono/zod-openapi";
import { desc } from "drizzle-orm";
import { requireAdmin } from "../auth/middleware";
import { AUDIT_ACTIONS, auditLog } from "../db/schema";
import { createRouter } from "../http/app";
import { d1Session } from "../http/d1-session";
import { bearerAuth, errorResponses, jsonResponse } from "../http/openapi";
import { LATEST_PAGE, LatestQuery } from "../http/paging";
import { InstantOutput } from "../values/instant";

export const AuditEntrySchema = z
  .object({
    id: z.number().int(),
    actor_id: z.number().int().nullable().openapi({ description: "The admin's user id; null for a change made with wrangler" }),
    action: z.enum(AUDIT_ACTIONS),
    target: z.string().openapi({ example: "slot:7" }),
    before: z.record(z.string(), z.unknown()).nullable().openapi({ description: "The row before; null for a creation" }),
    after: z.record(z.string(), z.unknown()).nullable().openapi({ description: "The row after; null for a deletion" }),
    created_at: InstantOutput,
  })
  .openapi("AuditEntry");

/** An audit_log row as AuditEntrySchema shows it. */
export const auditEntryColumns = {
  id: auditLog.id,
  actor_id: auditLog.actorId,
  action: auditLog.action,
  target: auditLog.target,
  before: auditLog.before,
  after: auditLog.after,
  created_at: auditLog.createdAt,
};

const listAudit = createRoute({
  operationId: "listAuditEntries",
  method: "get",
  path: "/admin/audit",
  tags: ["Admin"],
  summary: "The audit log of admin actions, newest first",
  security: bearerAuth,
  middleware: [requireAdmin, d1Session] as const,
  request: { query: LatestQuery },
  responses: {
    200: jsonResponse(z.array(AuditEntrySchema), "Entries, newest first"),
    ...errorResponses(401, 403, 422, 503),
  },
});

export const auditRoutes = createRouter().openapi(listAudit, async (c) => {
  const { limit = LATEST_PAGE.default } = c.req.valid("query");
  const entries = await c.var.db
    .select(auditEntryColumns)
    .from(auditLog)
    .orderBy(desc(auditLog.id))
    .limit(limit);
  return c.json(entries, 200);
});
