import type { BatchItem } from "drizzle-orm/batch";
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

/**
 * One D1 batch (one transaction) of `statements` made at run time, for callers that read each
 * statement's result by its position; drizzle types only batches written out as tuples.
 */
export function batchOf(db: Database, statements: readonly BatchItem<"sqlite">[]): Promise<unknown[]> {
  const [first, ...rest] = statements;
  return db.batch([first, ...rest]);
}
