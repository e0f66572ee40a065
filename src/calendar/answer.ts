// How an iCalendar body goes out: the ETag and Cache-Control of every cached read (http/caching.ts),
// plus what calendar clients use: Last-Modified with If-Modified-Since (Google and Outlook poll
// with it), and a Content-Disposition that says whether the body is a file to import or a feed.
import type { Context } from "hono";
import { z } from "@hono/zod-openapi";
import { cacheable, cachingHeaders, cachingParameters, type CachePolicy } from "../http/caching";

export const ICS_CONTENT_TYPE = "text/calendar; charset=utf-8";

/** A stored instant ('YYYY-MM-DDTHH:MM:SSZ') as an HTTP date (RFC 9110 §5.6.7). */
const httpDate = (instant: string) => new Date(instant).toUTCString();

/** Whether an If-Modified-Since header says the client has the version of `lastModified` or a later one. */
function unchangedSince(ifModifiedSince: string | undefined, lastModified: string): boolean {
  const since = ifModifiedSince === undefined ? NaN : Date.parse(ifModifiedSince);
  return Number.isFinite(since) && Date.parse(lastModified) <= since;
}

export type IcsAnswer = { lastModified: string; audience: CachePolicy["audience"]; disposition: string };

/**
 * 200 with the body, or 304: when If-None-Match names its ETag, or, without If-None-Match (which
 * takes precedence, RFC 9110 §13.1.3), when If-Modified-Since is at or after `lastModified`.
 * Last-Modified is left out while it is the current second: dates count whole seconds, so a
 * second change within it would carry the same date and a client would never fetch it.
 */
export async function answerIcs(c: Context, body: string, { lastModified, audience, disposition }: IcsAnswer): Promise<Response> {
  const dated = Date.parse(lastModified) < Math.floor(Date.now() / 1000) * 1000;
  if (dated) c.header("Last-Modified", httpDate(lastModified));
  c.header("Content-Disposition", disposition);
  const response = await cacheable(c, body, ICS_CONTENT_TYPE, { audience });
  const unchanged = dated && c.req.header("If-None-Match") === undefined && unchangedSince(c.req.header("If-Modified-Since"), lastModified);
  return response.status === 200 && unchanged ? c.body(null, 304) : response;
}

/** The request headers of the ICS routes, for OpenAPI. */
export const icsParameters = [
  ...cachingParameters("If-None-Match"),
  {
    in: "header" as const,
    name: "If-Modified-Since",
    required: false,
    schema: { type: "string" as const },
    description: "An HTTP date: 304 without a body if nothing changed since (ignored when If-None-Match is sent)",
  },
];

/** A 200 of an ICS route, for OpenAPI. */
export const icsResponse = (description: string, disposition: string) => ({
  description,
  content: { [ICS_CONTENT_TYPE]: { schema: z.string().openapi({ description: "RFC 5545 iCalendar" }) } },
  headers: {
    ...cachingHeaders,
    "Last-Modified": { description: "When the calendar last changed (an HTTP date), for If-Modified-Since", schema: { type: "string" as const } },
    "Content-Disposition": { description: disposition, schema: { type: "string" as const } },
  },
});
