import type { Context, TypedResponse } from "hono";
import { createMiddleware } from "hono/factory";
import type { JSONParsed } from "hono/utils/types";
import { base64url, sha256 } from "../values/encoding";
import { BOOKMARK_HEADER } from "./d1-session";
import type { AppEnv } from "./types";

// HTTP caching of read routes: a strong ETag from the body with 304 answers, Cache-Control and
// Vary, and a micro-cache in the Workers Cache API for anonymous reads (README, "Caching").

/** The most a cached answer may lag behind D1, at the edge and in the client's cache together. */
export const FRESHNESS_SECONDS = 2;
const FRESHNESS_MS = FRESHNESS_SECONDS * 1000;

/**
 * Who may keep the answer: `shared`, anyone for up to FRESHNESS_SECONDS (it is the same for every
 * caller); `personal`, only the caller's own cache, revalidated each time. `varies` names the
 * request headers that change the answer, for the Vary header.
 */
export type CachePolicy = { audience: "shared" | "personal"; varies?: string };

const cacheControlOf = ({ audience }: CachePolicy) => (audience === "shared" ? `public, max-age=${FRESHNESS_SECONDS}` : "private, no-cache");

/** Whether an If-None-Match header names this ETag (weak comparison, as RFC 9110 asks for it). */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  return ifNoneMatch.split(",").some((tag) => {
    const candidate = tag.trim().replace(/^W\//, "");
    return candidate === "*" || candidate === etag;
  });
}

/**
 * Answers `body` with a strong ETag (SHA-256 of the body, base64url, quoted), Cache-Control and
 * Vary per `policy`; or 304 without a body when If-None-Match names that ETag.
 */
export async function cacheable(c: Context, body: string, contentType: string, policy: CachePolicy): Promise<Response> {
  const etag = `"${base64url(await sha256(body))}"`;
  c.header("ETag", etag);
  c.header("Cache-Control", cacheControlOf(policy));
  if (policy.varies) c.header("Vary", policy.varies, { append: true });
  if (matches(c.req.header("If-None-Match"), etag)) return c.body(null, 304);
  return c.body(body, 200, { "Content-Type": contentType });
}

/**
 * What `cacheableJson` answers, typed as `c.json(data, 200)` so that `hc<AppType>` clients see the
 * route's body; a 304 is typed as the 200 it stands for (only a client that sent If-None-Match gets one).
 */
export type CacheableJson<T> = Response & TypedResponse<JSONParsed<T>, 200, "json">;

/** JSON through `cacheable`. */
export async function cacheableJson<T>(c: Context, data: T, policy: CachePolicy): Promise<CacheableJson<T>> {
  return (await cacheable(c, JSON.stringify(data), "application/json", policy)) as CacheableJson<T>;
}

// ---------------------------------------------------------------------------------------------
// The micro-cache

/** When the stored answer was read from D1 (ms since the epoch): its age is counted from then. */
const READ_AT = "x-slotbook-read-at";
/** What a stored answer keeps of its headers; the rest (request id, CORS, security) is the current request's. */
const STORED_HEADERS = ["content-type", "etag", "cache-control", "vary", BOOKMARK_HEADER];

/** Whether the client asked to skip caches (RFC 9111 request directives). */
const wantsFresh = (cacheControl: string | undefined) => cacheControl !== undefined && /no-cache|no-store|max-age=0/i.test(cacheControl);

/** The cache key: the URL with its query parameters sorted, so their order does not split entries. */
function normalizedKey(url: string): string {
  const key = new URL(url);
  key.searchParams.sort();
  key.hash = "";
  return key.href;
}

/** An answer as the micro-cache keeps it: body, the headers it keeps, when it was read from D1. */
type Entry = { body: string; headers: [string, string][]; readAt: number };

const isFresh = (entry: Entry) => {
  const ageMs = Date.now() - entry.readAt;
  return ageMs >= 0 && ageMs < FRESHNESS_MS;
};

/**
 * This isolate's copies of entries it has read or stored, in front of `caches.default`: a hit
 * here costs no Cache API call. The same bound applies, counted from the same D1 read.
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
  const headers = [...stored.headers].filter(([name]) => STORED_HEADERS.includes(name));
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
 * for at most FRESHNESS_SECONDS after it was read from D1. A request with Authorization,
 * x-d1-bookmark (a client reading its own writes) or `Cache-Control: no-cache` skips it. A served
 * copy carries `Age`, so that the client's cache adds nothing to the bound. The Cache API works
 * under `wrangler dev` and on a custom domain; on workers.dev it stores nothing, and only the
 * isolate's copies serve.
 */
export const microCache = createMiddleware<AppEnv>(async (c, next) => {
  const request = c.req;
  if (request.header("Authorization") !== undefined || request.header(BOOKMARK_HEADER) !== undefined || wantsFresh(request.header("Cache-Control"))) {
    return next();
  }
  const key = normalizedKey(request.url);
  let entry = await freshEntry(key);
  const underWay = entry ? undefined : reading.get(key);
  if (underWay && Date.now() - underWay.since < READ_WAIT_MS) {
    await Promise.race([underWay.settled, new Promise((resolve) => setTimeout(resolve, READ_WAIT_MS))]);
    entry = await freshEntry(key);
  }
  if (entry) {
    let contentType = "application/json";
    for (const [name, value] of entry.headers) {
      if (name === "content-type") contentType = value;
      else c.header(name, value);
    }
    c.header("Age", String(Math.ceil((Date.now() - entry.readAt) / 1000)));
    const etag = entry.headers.find(([name]) => name === "etag")?.[1] ?? "";
    if (matches(request.header("If-None-Match"), etag)) return c.body(null, 304);
    return c.body(entry.body, 200, { "Content-Type": contentType });
  }
  let finished = () => {};
  const read = { settled: new Promise<void>((resolve) => (finished = resolve)), since: Date.now() };
  reading.set(key, read);
  try {
    const readAt = Date.now();
    await next();
    if (c.res.status !== 200 || !c.res.headers.get("Cache-Control")?.startsWith("public")) return;
    const headers = STORED_HEADERS.flatMap((name): [string, string][] => {
      const value = c.res.headers.get(name);
      return value === null ? [] : [[name, value]];
    });
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

/** For the description of each micro-cached route. */
export const MICRO_CACHE_NOTE =
  `Anonymous requests are served from an edge cache for at most ${FRESHNESS_SECONDS} s after D1 was read ` +
  "(the Workers Cache API, which stores nothing on workers.dev: deploy on a custom domain); send `x-d1-bookmark` " +
  "or `Cache-Control: no-cache` to read D1 directly.";

/**
 * The request headers of the cached read routes, as OpenAPI parameters: documented, but not a
 * zod schema, which would make `hc` clients pass a `header` object on every call. The bookmark is
 * checked by d1Session; the others need no checking.
 */
export function cachingParameters(...names: ("If-None-Match" | "Cache-Control" | "x-d1-bookmark")[]) {
  const descriptions = {
    "If-None-Match": "An ETag from an earlier answer: 304 without a body if it still matches",
    "Cache-Control": `\`no-cache\` skips the edge micro-cache (answers are otherwise up to ${FRESHNESS_SECONDS} s old)`,
    [BOOKMARK_HEADER]: "A bookmark from an earlier answer: read at least that fresh; also skips the edge micro-cache",
  };
  return names.map((name) => ({ in: "header" as const, name, required: false, schema: { type: "string" as const }, description: descriptions[name] }));
}

/** The response headers of a cacheable 200, and the 304 entry, for OpenAPI. */
export const cachingHeaders = {
  ETag: { description: "Strong validator: SHA-256 of the body", schema: { type: "string" as const } },
  "Cache-Control": {
    description: `\`public, max-age=${FRESHNESS_SECONDS}\` for answers that are the same for everyone, \`private, no-cache\` for the caller's own`,
    schema: { type: "string" as const },
  },
};
// `content: {}`: no body, and no type in `hc` clients (a 304 without it would widen every 200 body to `{}`).
export const notModified = { 304: { description: "Not modified: the If-None-Match ETag still matches; no body", content: {} } };
