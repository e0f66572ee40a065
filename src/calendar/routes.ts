import { createRoute, z, type RouteConfig } from "@hono/zod-openapi";
import { and, eq, isNull } from "drizzle-orm";
import type { Context } from "hono";
import { requireUser } from "../auth/middleware";
import type { Database } from "../db/client";
import { calendarFeeds, categories, timeSlots } from "../db/schema";
import { nowUtcIso } from "../db/time";
import { calendarFeedNotFound, slotNotFound } from "../errors/catalogue";
import { createRouter } from "../http/app";
import { notModified } from "../http/caching";
import { d1Session } from "../http/d1-session";
import { bearerAuth, errorResponses, jsonResponse } from "../http/openapi";
import { SlotIdParams } from "../slots/schemas";
import { answerIcs, icsParameters, icsResponse } from "./answer";
import { feedOf, FEED_WINDOW_DAYS } from "./feed";
import { feedSecretOf, FEED_SECRET, hashOf, newSalt } from "./feed-secret";
import { cancellationNote } from "./cancellation-note";
import { serializeCalendar, type IcsEvent } from "./ics";

// Calendar clients: a private ICS feed per user (subscribed by URL), and one slot as an event.

/** How often subscribed calendars should fetch the feed again (REFRESH-INTERVAL, X-PUBLISHED-TTL). */
const REFRESH_INTERVAL = "PT1H";
const FEED_DISPOSITION = 'inline; filename="slotbook.ics"';
const eventDisposition = (slotId: number) => `attachment; filename="slot-${slotId}.ics"`;

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

/**
 * Hono cannot match a literal suffix after a parameter (`/{feed_secret}.ics`), so such a route is
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
    `One VEVENT per live entry on a slot that ended at most ${FEED_WINDOW_DAYS} days ago or later: a booking ` +
    "(`STATUS:CONFIRMED`), a hold or a waitlist place (`STATUS:TENTATIVE`). An entry that ends (cancelled, moved, an " +
    "expired hold) leaves the feed, and subscribed calendars remove it. Times in UTC; SEQUENCE increases whenever " +
    "the entry or its slot changes. DESCRIPTION names the cancellation deadline (`cancellable_until`, in the slot's " +
    "time zone). No bearer token: the URL is the credential.",
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
  parameters: icsParameters,
  responses: { 200: icsResponse("The feed", `\`${FEED_DISPOSITION}\`: a feed to subscribe to`), ...notModified, ...errorResponses(404, 422, 503) },
});

const slotIcsRoute = createRoute({
  method: "get",
  path: "/slots/{slot_id}/event.ics",
  operationId: "getSlotIcs",
  tags: ["Calendar"],
  summary: "One time slot as an iCalendar event, a file to add to a calendar once",
  description:
    "A file to import, not a subscription: it carries no refresh hints. DESCRIPTION names the cancellation deadline of a " +
    "booked place (`cancellable_until`, in the slot's time zone). For the caller's own bookings kept up to date, subscribe to the feed.",
  security: [],
  middleware: [d1Session] as const,
  request: { params: SlotIdParams },
  parameters: icsParameters,
  responses: {
    200: icsResponse("The slot as a VCALENDAR with one VEVENT", '`attachment; filename="slot-{slot_id}.ics"`: a file to import'),
    ...notModified,
    ...errorResponses(404, 422, 503),
  },
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
    const { events, lastModified } = await feedOf(db, feed.userId, new Date());
    const body = serializeCalendar({ name: "slotbook bookings", refreshInterval: REFRESH_INTERVAL, events });
    return answerIcs(c, body, { lastModified, audience: "personal", disposition: FEED_DISPOSITION });
  })
  .openapi(slotIcsRoute, async (c) => {
    const slotId = c.req.valid("param").slot_id;
    const slot = await c.var.db
      .select({
        start: timeSlots.startTime,
        end: timeSlots.endTime,
        summary: categories.name,
        cancellableUntil: timeSlots.cancellableUntil,
        timezone: timeSlots.timezone,
        version: timeSlots.version,
        modified: timeSlots.modifiedAt,
      })
      .from(timeSlots)
      .innerJoin(categories, eq(categories.id, timeSlots.categoryId))
      .where(and(eq(timeSlots.id, slotId), isNull(timeSlots.deletedAt)))
      .get();
    if (!slot) throw slotNotFound();
    const { cancellableUntil, timezone, version, modified, ...times } = slot;
    const event: IcsEvent = {
      uid: `slot-${slotId}@slotbook`,
      status: "CONFIRMED",
      sequence: version,
      lastModified: modified,
      description: cancellationNote(cancellableUntil, timezone),
      ...times,
    };
    const body = serializeCalendar({ name: `slotbook: ${slot.summary}`, events: [event] });
    return answerIcs(c, body, { lastModified: slot.modified, audience: "shared", disposition: eventDisposition(slotId) });
  });

// The event's first path, /slots/{slot_id}.ics, which spec-driven tools took for /slots/{slot_id}:
// kept out of the document and the client types, its links lead to the new one.
calendarRoutes.get("/slots/:file{[0-9]+\\.ics}", (c) => c.redirect(`/slots/${c.req.param("file").slice(0, -".ics".length)}/event.ics`, 301));

// The feed route with a file suffix, as the OpenAPI document shows it.
const { middleware: _middleware, ...documentedFeed } = feedRoute;
calendarRoutes.openAPIRegistry.registerPath(documentedFeed);
