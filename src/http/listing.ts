import type { Context } from "hono";
import { cacheableJson, type CacheableJson, type CachePolicy } from "./caching";
import { page, PAGE, type PageKey } from "./paging";
import type { AppEnv } from "./types";

// The answer of a list route that the original API answered in full: a page only when the client
// asks for one (`limit` or `cursor`, with Link), else every matching row. A full list is read
// from D1 in keyset pages and streamed, so that memory stays flat however long it is.

/** Rows per D1 read of a full list; a list that fits in one is answered whole, with its ETag. */
export const FULL_LIST_READ = 500;

/** Reads up to `limit` rows strictly after `key` (all from the start without one), in (start, id) order. */
export type ReadRows<Row> = (key: PageKey | undefined, limit: number) => Promise<Row[]>;

export type Listing<Row, Item> = {
  paging: { limit?: number; cursor?: PageKey };
  read: ReadRows<Row>;
  keyOf: (row: Row) => PageKey;
  view: (row: Row) => Item;
  policy: CachePolicy;
};

/**
 * A page (`limit` rows, default PAGE.default, after `cursor`) when either is given; otherwise
 * every row. A full list of at most FULL_LIST_READ rows is one D1 read and answered like a page
 * (ETag, Cache-Control); a longer one streams as one JSON array, without an ETag and marked
 * `no-cache`, so that neither the Worker nor the micro-cache holds it whole.
 */
export async function listAnswer<E extends AppEnv, Row, Item>(c: Context<E>, { paging, read, keyOf, view, policy }: Listing<Row, Item>): Promise<CacheableJson<Item[]>> {
  if (paging.limit !== undefined || paging.cursor !== undefined) {
    const limit = paging.limit ?? PAGE.default;
    return cacheableJson(c, page(c, await read(paging.cursor, limit + 1), limit, keyOf).map(view), policy);
  }
  const first = await read(undefined, FULL_LIST_READ + 1);
  if (first.length <= FULL_LIST_READ) return cacheableJson(c, first.map(view), policy);
  if (policy.varies) c.header("Vary", policy.varies, { append: true });
  const body = streamedArray(first, read, keyOf, view, c.get("requestId"));
  return c.body(body, 200, { "Content-Type": "application/json", "Cache-Control": "no-cache" }) as unknown as CacheableJson<Item[]>;
}

/**
 * The JSON array of `first` and every row after it, one D1 read per FULL_LIST_READ rows, each
 * read only when the client has taken the one before. Rows are read at different instants: a row
 * that exists throughout is listed exactly once; one added or removed meanwhile may or may not
 * be. A failing read ends the stream with an error, so the client sees a broken answer rather
 * than a short one.
 */
function streamedArray<Row, Item>(first: Row[], read: ReadRows<Row>, keyOf: (row: Row) => PageKey, view: (row: Row) => Item, requestId: string) {
  const encoder = new TextEncoder();
  let pending: Row[] | undefined = first;
  let opened = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (pending === undefined) {
        controller.enqueue(encoder.encode(opened ? "]" : "[]"));
        controller.close();
        return;
      }
      const more = pending.length > FULL_LIST_READ;
      const rows = more ? pending.slice(0, FULL_LIST_READ) : pending;
      if (rows.length > 0) {
        controller.enqueue(encoder.encode((opened ? "," : "[") + rows.map((row) => JSON.stringify(view(row))).join(",")));
        opened = true;
      }
      try {
        pending = more ? await read(keyOf(rows[rows.length - 1]), FULL_LIST_READ + 1) : undefined;
      } catch (error) {
        console.error(`request ${requestId}: reading the next rows of a full list failed`, error);
        controller.error(error);
      }
    },
  });
}
