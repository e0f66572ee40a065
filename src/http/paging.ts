import { z } from "@hono/zod-openapi";
import { sql, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { Context } from "hono";
import { decodeBase64Url } from "hono/utils/encode";
import { base64url } from "../values/encoding";

// Keyset paging: a page ends at a row's (start_time, id), and the next page starts after it. Rows
// added meanwhile never shift a page, as an OFFSET would.

/** `limit` as a query parameter: a whole number from 1 to `max`; `byDefault` when absent, if the route has one. */
export function limitParam(max: number, byDefault?: number) {
  return z
    .string()
    .regex(/^\d{1,9}$/, "Expected a whole number")
    .transform(Number)
    .pipe(z.number().int().min(1).max(max))
    .optional()
    .openapi({
      type: "integer",
      minimum: 1,
      maximum: max,
      ...(byDefault === undefined ? { description: "How many entries per page; without it (and without `cursor`), every entry in one answer" } : { default: byDefault, description: "How many entries per page" }),
    });
}

/** The last row of a page, by which the next one starts. */
export type PageKey = { start: string; id: number };

const UTC_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

function encodeCursor({ start, id }: PageKey): string {
  return base64url(new TextEncoder().encode(JSON.stringify([start, id])).buffer);
}

function decodeCursor(cursor: string): PageKey | undefined {
  try {
    const key: unknown = JSON.parse(new TextDecoder().decode(decodeBase64Url(cursor)));
    if (Array.isArray(key) && key.length === 2 && UTC_INSTANT.test(String(key[0])) && Number.isSafeInteger(key[1]) && key[1] > 0) {
      return { start: key[0], id: key[1] };
    }
  } catch {
    // Not base64url or not JSON: refused below like any other malformed cursor.
  }
  return undefined;
}

/** A page's size: `default` for a `cursor` without `limit` (a client following a Link it built itself). */
export const PAGE = { default: 100, max: 500 };

/** A log read newest first, one page only (audit entries, webhook deliveries): `?limit=` entries. */
export const LATEST_PAGE = { default: 50, max: 500 };
export const LatestQuery = z.object({ limit: limitParam(LATEST_PAGE.max, LATEST_PAGE.default) });

/** `limit` and `cursor`, for routes that page by (start_time, id). */
export const PagingQuery = z.object({
  limit: limitParam(PAGE.max),
  cursor: z
    .string()
    .max(200)
    .transform((text, ctx) => {
      const key = decodeCursor(text);
      if (!key) {
        ctx.addIssue({ code: "custom", message: "Expected the cursor of a Link: rel=\"next\" URL" });
        return z.NEVER;
      }
      return key;
    })
    .optional()
    .openapi({ type: "string", description: 'Opaque; follow the `Link: <…>; rel="next"` header rather than building it' }),
});

/** Rows strictly after the cursor's key in (start, id) order: SQLite compares the row values. */
export function after(start: SQLiteColumn, id: SQLiteColumn, key: PageKey | undefined): SQL | undefined {
  return key ? sql`(${start}, ${id}) > (${key.start}, ${key.id})` : undefined;
}

/**
 * The page out of `rows`, read with `limit + 1` so that one more row tells that another page
 * exists; if so, sets `Link: <absolute URL>; rel="next"` (RFC 8288) with the same query and the
 * cursor of the page's last row.
 */
export function page<T>(c: Context, rows: T[], limit: number, keyOf: (row: T) => PageKey): T[] {
  if (rows.length <= limit) return rows;
  const items = rows.slice(0, limit);
  const next = new URL(c.req.url);
  next.searchParams.set("cursor", encodeCursor(keyOf(items[items.length - 1])));
  c.header("Link", `<${next.href}>; rel="next"`);
  return items;
}

export const linkHeader = {
  Link: {
    description: 'RFC 8288 `<absolute URL>; rel="next"` when more entries follow; absent on the last page',
    schema: { type: "string" as const },
  },
};
