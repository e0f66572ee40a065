import { sql, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";

/**
 * `json_object('key', column, ...)` for a drizzle selection: the same projection that a select or
 * `returning` gives in TypeScript, built by SQLite inside a statement (e.g. to record a row that
 * the same batch has just written).
 */
export function jsonObject(columns: Record<string, SQLiteColumn | SQL>): SQL {
  const pairs = Object.entries(columns).map(([key, column]) => sql`${key}, ${column}`);
  return sql`json_object(${sql.join(pairs, sql`, `)})`;
}
