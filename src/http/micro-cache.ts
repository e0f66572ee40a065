import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { BOOKMARK_HEADER } from "./d1-session";
import { FRESHNESS_SECONDS, matches } from "./caching";
import type { AppEnv } from "./types";

// The edge micro-cache of anonymous shared reads (GET /slots, GET /slots/{slot_id}, GET
// /categories), kept coherent with the writes this location acknowledges: each entry is keyed by
// the location's current generation, which every acknowledged change replaces before its answer
// is sent. A read after a write therefore never finds an entry read before it. Changes this
// location did not see (another location's writes, or D1 changed directly) show within
// FRESHNESS_SECONDS. README, "Caching".

const FRESHNESS_MS = FRESHNESS_SECONDS * 1000;

/** When the stored answer was read from D1 (ms since the epoch): its age is counted from then. */
const READ_AT = "x-slotbook-read-at";
/** Headers of an answer that belong to its request rather than to its content: never stored. */
const PER_REQUEST = (name: string) => name === "x-request-id" || name === "date" || name.startsWith("access-control-");

// ---------------------------------------------------------------------------------------------
// The generation

/**
 * Where the location's generation lives: caches.default, shared by every isolate of the location
 * (and by its Durable Objects). Not a URL anyone can request.
 */
export const GENERATION_URL = "https://micro-cache.slotbook.invalid/generation";

async function storeGeneration(generation: string): Promise<void> {
  // Kept for a day; if the cache drops it sooner, the next read starts a new one (below).
  const stored = new Response(generation, { headers: { "Cache-Control": "max-age=86400" } });
  await caches.default.put(GENERATION_URL, stored);
}

/**
 * The location's current generation. A missing one (never set, or evicted) is replaced by a new
 * one at once rather than read as a default: an entry stored under an earlier default could
 * otherwise be found again.
 */
async function currentGeneration(): Promise<string | undefined> {
  try {
    const stored = await caches.default.match(GENERATION_URL);
    if (stored) return await stored.text();
    const generation = crypto.randomUUID();
    await storeGeneration(generation);
    return generation;
  } catch (error) {
    // Without a generation nothing can be served coherently: the read goes to D1.
    console.warn("micro-cache: reading the generation failed", error);
    return undefined;
  }
}

/**
 * Starts a new generation: called once a change has committed and before it is acknowledged, so
 * that every later read in this location misses the entries read before it. A unique value, not
 * a counter: two changes at once cannot both write the same "next" value, and no later
 * generation can equal an earlier one.
 */
export async function afterCommittedChange(): Promise<void> {
  await storeGeneration(crypto.randomUUID()).catch((error: unknown) => {
    // The change has committed; reads here may then lag behind it, within FRESHNESS_SECONDS.
    console.warn("micro-cache: storing a new generation failed", error);
  });
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * For every request that may change data (any method but GET, HEAD and OPTIONS), a new
 * generation before the answer goes out, unless it was refused (4xx: nothing was written). A 5xx
 * may have committed, so it counts as a change.
 */
export const newGenerationOnWrite = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  if (SAFE_METHODS.has(c.req.method)) return;
  if (c.res.status >= 400 && c.res.status < 500) return;
  await afterCommittedChange();
});

// ---------------------------------------------------------------------------------------------
// Entries

/** The cache key: the URL with its query parameters sorted, so their order does not split entries, and the generation. */
function keyOf(url: string, generation: string): string {
  const key = new URL(url);
  key.searchParams.sort();
  key.hash = "";
  key.searchParams.append("micro-cache-generation", generation);
  return key.href;
}

/** An answer as the micro-cache keeps it: body, every header that is not the request's own, when it was read from D1. */
type Entry = { body: string; headers: [string, string][]; readAt: number };

const isFresh = (entry: Entry) => {
  const ageMs = Date.now() - entry.readAt;
  return ageMs >= 0 && ageMs < FRESHNESS_MS;
};

/**
 * This isolate's copies of entries it has read or stored, in front of `caches.default`: a hit
 * here costs no Cache API call beyond the generation's. The same bound applies, counted from the same D1 read.
 */
const inIsolate = new Map<string, Entry>();
const IN_ISOLATE_MAX = 256;

function keepInIsolate(key: string, entry: Entry) {
  if (inIsolate.size >= IN_ISOLATE_MAX) inIsolate.clear();
  inIsolate.set(key, entry);
}

/** The entry for `key` if one younger than the bound is in this isolate or in `caches.default`. */
async function freshEntry(key: string): Promise<Entry | undefined> {
  const kept = inIsolate.get(key);
  if (kept && isFresh(kept)) return kept;
  const stored = await caches.default.match(key).catch((error: unknown) => {
    // The Cache API only saves D1 reads: when it fails, the request goes on as a miss.
    console.warn(`micro-cache: match failed for ${key}`, error);
    return undefined;
  });
  if (!stored) return undefined;
  const headers = [...stored.headers].filter(([name]) => name !== READ_AT && !PER_REQUEST(name));
  const entry: Entry = { body: await stored.text(), headers, readAt: Number(stored.headers.get(READ_AT)) };
  if (!isFresh(entry)) return undefined;
  keepInIsolate(key, entry);
  return entry;
}

/**
 * The keys this isolate is reading from D1 now: a request that misses while one is under way
 * waits for it and is served what it stores, so an expiry under load costs one D1 read per
 * isolate, not one per waiting request. A read whose client went away is cancelled without
 * settling, so a waiting request gives up after READ_WAIT_MS and reads D1 itself (a request
 * waiting on nothing else would otherwise be cancelled by the runtime as hung).
 */
const reading = new Map<string, { settled: Promise<void>; since: number }>();
const READ_WAIT_MS = 1_000;

/**
 * Serves anonymous GETs of a shared answer from `caches.default` (and this isolate's copy of it)
 * for at most FRESHNESS_SECONDS after it was read from D1, and never across a change this
 * location acknowledged since. A request with Authorization, x-d1-bookmark or `Cache-Control:
 * no-cache` skips it. A served copy carries every header of the answer it copies, and `Age`, so
 * that the client's cache adds nothing to the bound. The Cache API works under `wrangler dev`
 * and on a custom domain; on workers.dev it stores nothing, and the micro-cache serves nothing.
 */
export const microCache = createMiddleware<AppEnv>(async (c, next) => {
  const request = c.req;
  if (request.header("Authorization") !== undefined || request.header(BOOKMARK_HEADER) !== undefined || wantsFresh(request.header("Cache-Control"))) {
    return next();
  }
  const generation = await currentGeneration();
  if (generation === undefined) return next();
  const key = keyOf(request.url, generation);
  let entry = await freshEntry(key);
  const underWay = entry ? undefined : reading.get(key);
  if (underWay && Date.now() - underWay.since < READ_WAIT_MS) {
    await Promise.race([underWay.settled, new Promise((resolve) => setTimeout(resolve, READ_WAIT_MS))]);
    entry = await freshEntry(key);
  }
  if (entry) return answerFrom(c, entry);
  let finished = () => {};
  const read = { settled: new Promise<void>((resolve) => (finished = resolve)), since: Date.now() };
  reading.set(key, read);
  try {
    const readAt = Date.now();
    await next();
    if (c.res.status !== 200 || !c.res.headers.get("Cache-Control")?.startsWith("public")) return;
    const headers = [...c.res.headers].filter(([name]) => !PER_REQUEST(name));
    const fresh: Entry = { body: await c.res.clone().text(), headers, readAt };
    keepInIsolate(key, fresh);
    // The Cache API evicts it after max-age; READ_AT, checked above, is what bounds its age exactly.
    await caches.default.put(key, new Response(fresh.body, { headers: [...headers, [READ_AT, String(readAt)]] })).catch((error: unknown) => {
      console.warn(`request ${c.get("requestId")}: micro-cache: put failed for ${key}`, error);
    });
  } finally {
    if (reading.get(key) === read) reading.delete(key);
    finished();
  }
});

/** Whether the client asked to skip caches (RFC 9111 request directives). */
const wantsFresh = (cacheControl: string | undefined) => cacheControl !== undefined && /no-cache|no-store|max-age=0/i.test(cacheControl);

/** A stored entry as this request's answer (or a 304 if its If-None-Match names the entry's ETag). */
function answerFrom(c: Context<AppEnv>, entry: Entry): Response {
  let contentType = "application/json";
  for (const [name, value] of entry.headers) {
    if (name === "content-type") contentType = value;
    else c.header(name, value);
  }
  c.header("Age", String(Math.ceil((Date.now() - entry.readAt) / 1000)));
  const etag = entry.headers.find(([name]) => name === "etag")?.[1] ?? "";
  if (matches(c.req.header("If-None-Match"), etag)) return c.body(null, 304);
  return c.body(entry.body, 200, { "Content-Type": contentType });
}

/** For the description of each micro-cached route. */
export const MICRO_CACHE_NOTE =
  "Anonymous requests may be served from an edge cache (the Workers Cache API, which stores nothing on workers.dev). " +
  "A change acknowledged by this location is seen by every later read here at once; a change made elsewhere within " +
  `${FRESHNESS_SECONDS} s. Send \`x-d1-bookmark\` or \`Cache-Control: no-cache\` to read D1 directly.`;
