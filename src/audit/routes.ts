import { createRoute, z } from "@hono/zod-openapi";
import { desc } from "drizzle-orm";
import { requireAdmin } from "../auth/middleware";
import { auditLog } from "../db/schema";
import { createRouter } from "../http/app";
import { d1Session } from "../http/d1-session";
import { bearerAuth, errorResponses, jsonResponse } from "../http/openapi";
import { LATEST_PAGE, LatestQuery } from "../http/paging";
import { auditEntryColumns, AuditEntrySchema, toAuditEntry } from "./entry";

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
  return c.json(entries.map(toAuditEntry), 200);
});
