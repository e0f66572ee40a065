import { z } from "@hono/zod-openapi";

// API shapes that belong to no one resource.

/** A positive integer id in a path segment; anything else (abc, 0, -1, 1.5, 1e3) is a 422. */
export const PathId = z
  .string()
  .regex(/^[1-9]\d{0,14}$/, "Expected a positive integer")
  .transform(Number)
  .openapi({ type: "integer", minimum: 1, example: 1 });

export const MessageSchema = z.object({ message: z.string() }).openapi("Message");
