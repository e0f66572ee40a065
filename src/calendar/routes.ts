import { createRoute, z, type RouteConfig } from "@hono/zod-openapi";
import { and, asc, eq, isNull, sql } from "drizzle-orm";
import type { Context } from "hono";
import { requireUser } from "../auth/middleware";
import type { Database } from "../db/client";
import { BOOKING_STATUSES, bookings, calendarFeeds, categories, timeSlots } from "../db/schema";
import { nowUtcIso } from "../db/time";
import { calendarFeedNotFound, slotNotFound } from "../errors/catalogue";
import { createRouter } from "../http/app";
import { cacheable, cachingHeaders, cachingParameters, notModified } from "../http/caching";
import { d1Session } from "../http/d1-session";
import { bearerAuth, errorResponses, jsonResponse } from "../http/openapi";
import { feedSecretOf, FEED_SECRET, hashOf, newSalt } from "./feed-secret";
import { serializeCalendar, type IcsEvent } from "./ics";

// Calendar clients: a private ICS feed per user (subscribed by URL), and one slot as an event.

const ICS_CONTENT_TYPE = "text/calendar; charset=utf-8";
/** How often subscribed calendars should fetch the feed again (REFRESH-INTERVAL, X-PUBLISHED-TTL). */
const REFRESH_INTERVAL = "PT1H";

/**
 * Every booking status as a calendar shows it: a cancelled booking stays, so that subscribers
 * remove it; a hold (until confirmed) and a waitlist place (until promoted) are tentative.
 */
const EVENT_STATUS: Record<(typeof BOOKING_STATUSES)[number], IcsEvent["status"]> = {
  BOOKED: "CONFIRMED",
  HELD: "TENTATIVE",
  WAITLISTED: "TENTATIVE",
  CANCELLED: "CANCELLED",
};

const FeedUrlsSchema = z
  .object({
    url: z.string().openapi({ example: "https://api.example.com/calendar/3q2-7wEXAMPLEsecretEXAMPLEsecretEXAMPLE12345.ics" }),
    webcal_url: z.string().openapi({ example: "webcal://api.example.com/calendar/3q2-7wEXAMPLEsecretEXAMPLEsecretEXAMPLE12345.ics" }),
  })
  .openapi("CalendarFeed");

const feedUrlsResponse = {
  ...jsonResponse(FeedUrlsSchema, "The caller's private feed URL; anyone holding it can read the caller's bookings"),
  headers: { "Cache-Control": { description: "`no-store`: the URL is a credential", schema: { type: "string" as const } } },
};

const getFeed = createRoute({
  method: "get",
  path: "/user/calendar-feed",
  operationId: "getCalendarFeed",
  tags: ["Calendar"],
  summary: "The caller's private ICS feed URL, to add to a calendar app by URL",
  description: "Made on the first call; the same URL afterwards until rotated.",
  security: bearerAuth,
  middleware: [requireUser, d1Session] as const,
  responses: { 200: feedUrlsResponse, ...errorResponses(401, 422, 503) },
});

const rotateFeed = createRoute({
  method: "post",
  path: "/user/calendar-feed/rotate",
  operationId: "rotateCalendarFeed",
  tags: ["Calendar"],
  summary: "Replace the caller's feed URL; the old one answers 404 at once",
  security: bearerAuth,
  middleware: [requireUser, d1Session] as const,
  responses: { 200: feedUrlsResponse, ...errorResponses(401, 422, 503) },
});

const icsResponse = (description: string) => ({
  description,
  content: { [ICS_CONTENT_TYPE]: { schema: z.string().openapi({ description: "RFC 5545 iCalendar" }) } },
  headers: cachingHeaders,
});

/**
 * Hono cannot match a literal suffix after a parameter (`/{slot_id}.ics`), so such a route is
 * matched with a regex parameter that includes the suffix, kept out of the generated document,
 * and documented under its plain path instead.
 */
function withSuffix<R extends RouteConfig>(route: R, routingPath: string): R {
  return { ...route, path: routingPath, hide: true };
}

const feedRoute = createRoute({
  method: "get",
  path: "/calendar/{feed_secret}.ics",
  operationId: "getCalendarFeedIcs",
  tags: ["Calendar"],
  summary: "A user's bookings as an iCalendar feed (the URL from GET /user/calendar-feed)",
  description:
    "One VEVENT per booking, live (`STATUS:CONFIRMED`) and cancelled (`STATUS:CANCELLED`); times in UTC; SEQUENCE " +
    "increases whenever the booking or its slot changes. No bearer token: the URL is the credential.",
  security: [],
  middleware: [d1Session] as const,
  request: {
    params: z.object({
      feed_secret: z
        .string()
        .transform((file) => file.replace(/\.ics$/, ""))
        .pipe(z.string().regex(FEED_SECRET, "Expected the secret of a feed URL"))
        .openapi({ type: "string", description: "The secret part of the feed URL" }),
    }),
  },
  parameters: cachingParameters("If-None-Match"),
  responses: { 200: icsResponse("The feed"), ...notModified, ...errorResponses(404, 422, 503) },
});

const slotIcsRoute = createRoute({
  method: "get",
  path: "/slots/{slot_id}.ics",
  operationId: "getSlotIcs",
  tags: ["Calendar"],
  summary: "One time slot as an iCalendar event, to add to a calendar",
  security: [],
  middleware: [d1Session] as const,
  request: {
    params: z.object({
      slot_id: z
        .string()
        .regex(/^[1-9]\d{0,14}\.ics$/, "Expected a positive integer")
        .transform((file) => Number(file.slice(0, -".ics".length)))
        .openapi({ type: "integer", minimum: 1, example: 1 }),
    }),
  },
  parameters: cachingParameters("If-None-Match"),
  responses: { 200: icsResponse("The slot as a VCALENDAR with one VEVENT"), ...notModified, ...errorResponses(404, 422, 503) },
});

/** Reads (or makes) the caller's feed and answers its URLs, built on the request's origin. */
async function feedUrls(c: Context, db: Database, userId: number, rotate: boolean) {
  const salt = newSalt();
  const secret = await feedSecretOf(c.env, salt);
  const row = { userId, salt, secretHash: await hashOf(secret), createdAt: nowUtcIso() };
  const insert = db.insert(calendarFeeds).values(row);
  const written = rotate
    ? insert.onConflictDoUpdate({ target: calendarFeeds.userId, set: { salt: row.salt, secretHash: row.secretHash, createdAt: row.createdAt } })
    : insert.onConflictDoNothing();
  // Without rotate, two first calls at once both keep the one row written first.
  const [, [feed]] = await db.batch([written, db.select().from(calendarFeeds).where(eq(calendarFeeds.userId, userId))]);
  let current = feed.salt === salt ? secret : await feedSecretOf(c.env, feed.salt);
  const hash = await hashOf(current);
  if (hash !== feed.secretHash) {
    // JWT_SECRET's signing key changed since the feed was made (see feed-secret.ts): issue anew.
    current = secret;
    await db.update(calendarFeeds).set({ salt, secretHash: row.secretHash }).where(eq(calendarFeeds.userId, userId));
  }
  const url = new URL(`/calendar/${current}.ics`, c.req.url);
  c.header("Cache-Control", "no-store");
  return { url: url.href, webcal_url: `webcal://${url.host}${url.pathname}` };
}

const later = (a: string, b: string) => (a > b ? a : b);

export const calendarRoutes = createRouter()
  .openapi(getFeed, async (c) => c.json(await feedUrls(c, c.var.db, c.get("user").id, false), 200))
  .openapi(rotateFeed, async (c) => c.json(await feedUrls(c, c.var.db, c.get("user").id, true), 200))
  .openapi(withSuffix(feedRoute, "/calendar/{feed_secret}{[A-Za-z0-9_-]+\\.ics}"), async (c) => {
    const db = c.var.db;
    const feed = await db
      .select({ userId: calendarFeeds.userId })
      .from(calendarFeeds)
      .where(eq(calendarFeeds.secretHash, await hashOf(c.req.valid("param").feed_secret)))
      .get();
    if (!feed) throw calendarFeedNotFound();
    const rows = await db
      .select({
        id: bookings.id,
        status: bookings.status,
        start: timeSlots.startTime,
        end: timeSlots.endTime,
        summary: categories.name,
        sequence: sql<number>`${bookings.version} + ${timeSlots.version}`,
        bookingModified: sql<string>`coalesce(${bookings.modifiedAt}, ${bookings.createdAt})`,
        slotModified: timeSlots.modifiedAt,
      })
      .from(bookings)
      .innerJoin(timeSlots, eq(timeSlots.id, bookings.timeSlotId))
      .innerJoin(categories, eq(categories.id, timeSlots.categoryId))
      .where(eq(bookings.userId, feed.userId))
      .orderBy(asc(timeSlots.startTime), asc(bookings.id));
    const events = rows.map(
      (row): IcsEvent => ({
        uid: `booking-${row.id}@slotbook`,
        start: row.start,
        end: row.end,
        summary: row.summary,
        status: EVENT_STATUS[row.status],
        sequence: row.sequence,
        lastModified: later(row.bookingModified, row.slotModified),
      }),
    );
    const body = serializeCalendar({ name: "slotbook bookings", refreshInterval: REFRESH_INTERVAL, events });
    return cacheable(c, body, ICS_CONTENT_TYPE, { audience: "personal" });
  })
  .openapi(withSuffix(slotIcsRoute, "/slots/{slot_id}{[0-9]+\\.ics}"), async (c) => {
    const slotId = c.req.valid("param").slot_id;
    const slot = await c.var.db
      .select({ start: timeSlots.startTime, end: timeSlots.endTime, summary: categories.name, version: timeSlots.version, modified: timeSlots.modifiedAt })
      .from(timeSlots)
      .innerJoin(categories, eq(categories.id, timeSlots.categoryId))
      .where(and(eq(timeSlots.id, slotId), isNull(timeSlots.deletedAt)))
      .get();
    if (!slot) throw slotNotFound();
    const event: IcsEvent = { uid: `slot-${slotId}@slotbook`, status: "CONFIRMED", sequence: slot.version, lastModified: slot.modified, ...slot };
    const body = serializeCalendar({ name: `slotbook: ${slot.summary}`, refreshInterval: REFRESH_INTERVAL, events: [event] });
    return cacheable(c, body, ICS_CONTENT_TYPE, { audience: "shared" });
  });

// The two routes with a file suffix, as the OpenAPI document shows them.
for (const { middleware: _middleware, ...documented } of [feedRoute, slotIcsRoute]) calendarRoutes.openAPIRegistry.registerPath(documented);
