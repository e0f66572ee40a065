import { createMiddleware } from "hono/factory";
import { database, type Database } from "../db/client";
import { invalidValue } from "../errors/catalogue";
import type { AppEnv } from "./types";

/**
 * D1 read replication: reads may be served by a nearby replica, and the response carries a
 * bookmark that a client sends back to read at least as fresh as what it last saw or wrote.
 */
export const BOOKMARK_HEADER = "x-d1-bookmark";
const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/i;

export type SessionEnv = AppEnv & { Variables: { db: Database } };

/** Gives the route `c.var.db`: a session on any replica for GET, on the primary otherwise. */
export const d1Session = createMiddleware<SessionEnv>(async (c, next) => {
  const bookmark = c.req.header(BOOKMARK_HEADER);
  if (bookmark !== undefined && !BOOKMARK.test(bookmark)) {
    throw invalidValue(BOOKMARK_HEADER, "expected a bookmark returned by an earlier response");
  }
  const session = c.env.DB.withSession(bookmark ?? (c.req.method === "GET" ? "first-unconstrained" : "first-primary"));
  c.set("db", database(session));
  await next();
  const latest = session.getBookmark();
  if (latest) c.header(BOOKMARK_HEADER, latest);
});
