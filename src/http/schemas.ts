import { z } from "@hono/zod-openapi";

// API shapes that belong to no one resource.

/** A positive integer id in a path segment; anything else (abc, 0, -1, 1.5, 1e3) is a 422. */
export const PathId = z
  .string()
  .regex(/^[1-9]\d{0,14}$/, "Expected a positive integer")
  .transform(Number)
  .openapi({ type: "integer", minimum: 1, example: 1 });

export const MessageSchema = z.object({ message: z.string() }).openapi("Message");

/** ?limit= of a list route: a whole number from 1 to `max`, `default` when absent. */
export function LimitQuery({ max, default: fallback }: { max: number; default: number }) {
  return z.object({
    limit: z
      .string()
      .regex(/^\d{1,9}$/, "Expected a whole number")
      .transform(Number)
      .pipe(z.number().int().min(1).max(max))
      .optional()
      .openapi({ type: "integer", minimum: 1, maximum: max, default: fallback, description: "How many entries" }),
  });
}
