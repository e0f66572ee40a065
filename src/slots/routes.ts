import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, gt, gte, inArray, isNull, lt, sql, type SQL } from "drizzle-orm";
import type { TypedResponse } from "hono";
import { addressKey, UNKNOWN_ADDRESS } from "../auth/client-address";
import { identifyCaller } from "../auth/middleware";
import { clientAddress } from "../auth/routes";
import { timeSlots, userPreferences } from "../db/schema";
import { slotNotFound, webSocketRequired } from "../errors/catalogue";
import { createRouter } from "../http/app";
import { cacheableJson, cachingHeaders, cachingParameters, notModified } from "../http/caching";
import { d1Session } from "../http/d1-session";
import { FULL_LIST_READ, listAnswer } from "../http/listing";
import { MICRO_CACHE_NOTE, microCache } from "../http/micro-cache";
import { bearerAuth, errorResponses, jsonResponse } from "../http/openapi";
import { unwrap } from "../http/outcome";
import { after, linkHeader, PAGE } from "../http/paging";
import type { Outcome } from "../objects/outcome";
import { slotObject, watchRequest } from "../objects/stubs";
import { refuseEmptyWindow } from "../values/instant";
import { SlotAvailabilitySchema, type SlotAvailability, SlotSchema, toSlotView } from "../views/slot";
import { CLOSE_CODES, LIVE_LIMITS } from "./live-limits";
import { SlotIdParams, SlotQuery } from "./schemas";

// The public slot routes: the list, one slot, and watching one live (the admin's are admin-routes.ts).

const listSlots = createRoute({
  operationId: "listSlots",
  method: "get",
  path: "/slots",
  tags: ["Slots"],
  summary: "List time slots with their available spots, by start time: all of them, or a page at a time",
  description:
    "Authentication is optional; it only selects the caller's preferred categories by default. " +
    "Without `limit` and `cursor`, every matching slot (as the original API answered; a list longer than " +
    `${FULL_LIST_READ} is streamed, without an ETag). With \`limit\` (at most ${PAGE.max}; a \`cursor\` alone pages by ${PAGE.default}), ` +
    'one page, and a `Link: <…>; rel="next"` header gives the next. ' +
    MICRO_CACHE_NOTE,
  security: [{}, ...bearerAuth],
  middleware: [microCache, identifyCaller, d1Session] as const,
  request: { query: SlotQuery },
  parameters: cachingParameters("If-None-Match", "Cache-Control", "x-d1-bookmark"),
  responses: {
    200: { ...jsonResponse(z.array(SlotSchema), "Slots, ordered by start_time then id"), headers: { ...cachingHeaders, ...linkHeader } },
    ...notModified,
    ...errorResponses(401, 422, 503),
  },
});

const getSlot = createRoute({
  method: "get",
  path: "/slots/{slot_id}",
  operationId: "getSlot",
  tags: ["Slots"],
  summary: "One time slot",
  security: [],
  description: MICRO_CACHE_NOTE,
  middleware: [microCache, d1Session] as const,
  request: { params: SlotIdParams },
  parameters: cachingParameters("If-None-Match", "Cache-Control", "x-d1-bookmark"),
  responses: {
    200: { ...jsonResponse(SlotSchema, "The slot"), headers: cachingHeaders },
    ...notModified,
    ...errorResponses(404, 422, 503),
  },
});

const watchSlot = createRoute({
  method: "get",
  path: "/slots/{slot_id}/live",
  operationId: "watchSlot",
  tags: ["Slots"],
  security: [],
  summary: "Watch a slot's availability live (WebSocket)",
  description:
    "Upgrades to a WebSocket; no authentication. The server sends a `SlotAvailability` JSON message at once, then " +
    "one after every change to the slot (changes committed before it goes out are sent together, as the latest " +
    "state). After the message with `deleted: true` it closes the socket (1000). `ping` is answered `pong`; any " +
    "other message asks for the current availability. " +
    `Limits: at most ${LIVE_LIMITS.perSlot} open sockets per slot and ${LIVE_LIMITS.perAddress} per client address on it ` +
    "(an IPv4 address or an IPv6 /64); past either, 429 `too_many_watchers` with `Retry-After`, before any upgrade. " +
    `A message from the client over ${LIVE_LIMITS.messageBytes} bytes closes the socket with ${CLOSE_CODES.messageTooBig} ` +
    `(message too big); a socket without any message from the client (\`ping\` included) for ${LIVE_LIMITS.idleMs / 60_000} minutes ` +
    `is closed with ${CLOSE_CODES.idle} (idle): send \`ping\` more often to keep it open.`,
  request: {
    params: SlotIdParams,
    headers: z.object({ upgrade: z.string().optional().openapi({ description: "`websocket`; without it, 426", example: "websocket" }) }),
  },
  responses: {
    101: {
      description: "Switching Protocols: every message the server sends is one SlotAvailability object",
      content: { "application/json": { schema: SlotAvailabilitySchema } },
    },
    ...errorResponses(404, 422, 426, 429, 503),
  },
});

export const slotRoutes = createRouter()
  .openapi(listSlots, async (c) => {
    const { categories, from, to, only_available, limit, cursor } = c.req.valid("query");
    refuseEmptyWindow(from, to);
    const caller = c.get("user");
    const conditions: (SQL | undefined)[] = [isNull(timeSlots.deletedAt)];
    if (categories) {
      conditions.push(inArray(timeSlots.categoryId, categories));
    } else if (caller) {
      const preferred = sql`SELECT ${userPreferences.categoryId} FROM ${userPreferences} WHERE ${userPreferences.userId} = ${caller.id}`;
      conditions.push(sql`(NOT EXISTS (${preferred}) OR ${timeSlots.categoryId} IN (${preferred}))`);
    }
    if (from) conditions.push(gte(timeSlots.startTime, from));
    if (to) conditions.push(lt(timeSlots.startTime, to));
    // Held places are taken, as available_spots counts them.
    if (only_available) conditions.push(gt(timeSlots.maxCapacity, sql`${timeSlots.bookedCount} + ${timeSlots.heldCount}`));
    // One query per page: the counts are columns kept by D1 triggers, not a query per slot.
    return listAnswer(c, {
      paging: { limit, cursor },
      read: (key, rows) =>
        c.var.db
          .select()
          .from(timeSlots)
          .where(and(...conditions, after(timeSlots.startTime, timeSlots.id, key)))
          .orderBy(asc(timeSlots.startTime), asc(timeSlots.id))
          .limit(rows),
      keyOf: (row) => ({ start: row.startTime, id: row.id }),
      view: toSlotView,
      // A signed-in caller's list may be their preferred categories: theirs alone.
      policy: { audience: caller ? "personal" : "shared", varies: "Authorization" },
    });
  })
  .openapi(getSlot, async (c) => {
    const slotId = c.req.valid("param").slot_id;
    const row = await c.var.db
      .select()
      .from(timeSlots)
      .where(and(eq(timeSlots.id, slotId), isNull(timeSlots.deletedAt)))
      .get();
    if (!row) throw slotNotFound();
    return cacheableJson(c, toSlotView(row), { audience: "shared" });
  })
  .openapi(watchSlot, async (c) => {
    if (c.req.valid("header").upgrade?.toLowerCase() !== "websocket") throw webSocketRequired();
    const slotId = c.req.valid("param").slot_id;
    // The slot's object accepts the socket itself (hibernation API), and answers a refusal (404 for
    // a missing slot, a 5xx) as its Outcome, thrown here to be answered and logged like any other.
    // Its 101 carries the socket; the route's 101 entry documents the messages sent on it.
    // Copied, because the middleware adds headers and a fetched response's headers are immutable.
    const address = addressKey(clientAddress(c) ?? UNKNOWN_ADDRESS);
    const answer = await slotObject(c.env, slotId).fetch(watchRequest(slotId, c.req.raw, address));
    if (answer.status !== 101) unwrap(c, (await answer.json()) as Outcome<never>);
    return new Response(answer.body, answer) as unknown as TypedResponse<SlotAvailability, 101, "json">;
  });
