import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

/**
 * A drizzle handle on D1 or on a D1 session. drizzle's types name only D1Database, but all it
 * calls, `prepare` and `batch`, a session has too.
 */
export function database(d1: D1Database | D1DatabaseSession) {
  return drizzle(d1 as D1Database, { schema });
}

export type Database = ReturnType<typeof database>;
