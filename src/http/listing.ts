import type { Context } from "hono";
import { cacheable, type CacheableJson, type CachePolicy } from "./caching";
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

/** How a list is written out: JSON arrays, or text such as CSV (`open` a header line, each row rendered with its line end). */
export type ListFormat<Item> = { contentType: string; open: string; separator: string; close: string; render: (item: Item) => string };

const JSON_ARRAY: ListFormat<unknown> = { contentType: "application/json", open: "[", separator: ",", close: "]", render: (item) => JSON.stringify(item) };

/**
 * A page (`limit` rows, default PAGE.default, after `cursor`) when either is given; otherwise
 * every row. A full list of at most FULL_LIST_READ rows is one D1 read and answered like a page
 * (ETag, Cache-Control); a longer one streams, without an ETag and marked `no-cache`, so that
 * neither the Worker nor the micro-cache holds it whole. As JSON, typed for `hc` clients.
 */
export async function listAnswer<E extends AppEnv, Row, Item>(c: Context<E>, listing: Listing<Row, Item>): Promise<CacheableJson<Item[]>> {
  return (await listText(c, listing, JSON_ARRAY)) as CacheableJson<Item[]>;
}

/** `listAnswer` in another `format`. */
export async function listText<E extends AppEnv, Row, Item>(c: Context<E>, { paging, read, keyOf, view, policy }: Listing<Row, Item>, format: ListFormat<Item>): Promise<Response> {
  const whole = (rows: Row[]) => format.open + rows.map((row) => format.render(view(row))).join(format.separator) + format.close;
  if (paging.limit !== undefined || paging.cursor !== undefined) {
    const limit = paging.limit ?? PAGE.default;
    return cacheable(c, whole(page(c, await read(paging.cursor, limit + 1), limit, keyOf)), format.contentType, policy);
  }
  const first = await read(undefined, FULL_LIST_READ + 1);
  if (first.length <= FULL_LIST_READ) return cacheable(c, whole(first), format.contentType, policy);
  if (policy.varies) c.header("Vary", policy.varies, { append: true });
  const body = streamed(first, read, keyOf, (row) => format.render(view(row)), format, c.get("requestId"));
  return c.body(body, 200, { "Content-Type": format.contentType, "Cache-Control": "no-cache" });
}

/**
 * `first` and every row after it, one D1 read per FULL_LIST_READ rows, each read only when the
 * client has taken the one before. Rows are read at different instants: a row that exists
 * throughout is listed exactly once; one added or removed meanwhile may or may not be. A failing
 * read ends the stream with an error, so the client sees a broken answer rather than a short one.
 */
function streamed<Row>(
  first: Row[],
  read: ReadRows<Row>,
  keyOf: (row: Row) => PageKey,
  render: (row: Row) => string,
  { open, separator, close }: { open: string; separator: string; close: string },
  requestId: string,
) {
  const encoder = new TextEncoder();
  let pending: Row[] | undefined = first;
  let before = open;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (pending === undefined) {
        controller.enqueue(encoder.encode(close));
        controller.close();
        return;
      }
      const more = pending.length > FULL_LIST_READ;
      const rows = more ? pending.slice(0, FULL_LIST_READ) : pending;
      // `first` is longer than one read, so the rows after `open` are never empty.
      if (rows.length > 0) {
        controller.enqueue(encoder.encode(before + rows.map(render).join(separator)));
        before = separator;
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
