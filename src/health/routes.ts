import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../http/app";
import { jsonResponse } from "../http/openapi";

// GET /health: the Worker answers, touching nothing else.

const health = createRoute({
  operationId: "getHealth",
  security: [],
  method: "get",
  path: "/health",
  tags: ["Operations"],
  summary: "Liveness; touches neither D1 nor a Durable Object",
  responses: { 200: jsonResponse(z.object({ status: z.literal("ok") }), "The Worker is up") },
});

export const healthRoutes = createRouter().openapi(health, (c) => c.json({ status: "ok" as const }, 200));
