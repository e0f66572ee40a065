import type { Context, TypedResponse } from "hono";
import type { JSONParsed } from "hono/utils/types";
import { base64url, sha256 } from "../values/encoding";
import { BOOKMARK_HEADER } from "./d1-session";

// HTTP caching of read routes: a strong ETag from the body with 304 answers, Cache-Control and
// Vary, and their OpenAPI descriptions. The edge micro-cache is micro-cache.ts (README, "Caching").

/**
 * The most a cached answer may lag behind D1, at the edge and in the client's cache together, for
 * a change this location did not acknowledge (micro-cache.ts): writes made here are seen at once.
 */
export const FRESHNESS_SECONDS = 2;

/**
 * Who may keep the answer: `shared`, anyone for up to FRESHNESS_SECONDS (it is the same for every
 * caller); `personal`, only the caller's own cache, revalidated each time. `varies` names the
 * request headers that change the answer, for the Vary header.
 */
export type CachePolicy = { audience: "shared" | "personal"; varies?: string };

const cacheControlOf = ({ audience }: CachePolicy) => (audience === "shared" ? `public, max-age=${FRESHNESS_SECONDS}` : "private, no-cache");

/** Whether an If-None-Match header names this ETag (weak comparison, as RFC 9110 asks for it). */
export function matches(ifNoneMatch: string | undefined, etag: string): boolean {
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

/**
 * The request headers of the cached read routes, as OpenAPI parameters: documented, but not a
 * zod schema, which would make `hc` clients pass a `header` object on every call. The bookmark is
 * checked by d1Session; the others need no checking.
 */
export function cachingParameters(...names: ("If-None-Match" | "Cache-Control" | "x-d1-bookmark")[]) {
  const descriptions = {
    "If-None-Match": "An ETag from an earlier answer: 304 without a body if it still matches",
    "Cache-Control": `\`no-cache\` skips the edge micro-cache (which may lag up to ${FRESHNESS_SECONDS} s behind changes made in other locations)`,
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
