import { createMiddleware } from "hono/factory";
import { database, type Database } from "../db/client";
import { invalidValue } from "../errors/catalogue";
import type { AppEnv } from "./types";

/**
 * D1 read replication: every response carries a bookmark that a client sends back to read at
 * least as fresh as what it last saw or wrote; such a read may be served by a nearby replica. A
 * request without one (every client of the original API) reads the primary, so that it never
 * sees less than the writes acknowledged before it, replicas or not.
 */
export const BOOKMARK_HEADER = "x-d1-bookmark";
const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/i;

export type SessionEnv = AppEnv & { Variables: { db: Database } };

/** Gives the route `c.var.db`: a session that continues from the request's bookmark, or on the primary without one. */
export const d1Session = createMiddleware<SessionEnv>(async (c, next) => {
  const bookmark = c.req.header(BOOKMARK_HEADER);
  if (bookmark !== undefined && !BOOKMARK.test(bookmark)) {
    throw invalidValue(BOOKMARK_HEADER, "expected a bookmark returned by an earlier response");
  }
  const session = c.env.DB.withSession(bookmark ?? "first-primary");
  c.set("db", database(session));
  await next();
  const latest = session.getBookmark();
  if (latest) c.header(BOOKMARK_HEADER, latest);
});
