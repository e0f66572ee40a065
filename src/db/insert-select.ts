import { Column, getTableColumns, is, sql, SQL } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";

// The one builder of the row an INSERT ... SELECT writes (bookings, webhook events, audit entries,
// series of slots, idempotency records): every column of the table in its order, as drizzle's
// INSERT ... SELECT requires, so that a column added to a table needs no change here.

type Columns<T extends SQLiteTable> = T["_"]["columns"];

/** What a column of the row is selected as: SQL, a column of the selected row, a value bound as a parameter. */
type Value<T extends SQLiteTable, K extends keyof Columns<T>> = SQL | SQL.Aliased | Column | Columns<T>[K]["_"]["data"] | null;

/**
 * The selection of an INSERT ... SELECT into `table`, from `values`: a column left out is NULL (so
 * an integer primary key takes the next id); a plain value is bound as a parameter.
 */
export function insertedRow<T extends SQLiteTable>(table: T, values: { [K in keyof Columns<T>]?: Value<T, K> }) {
  const row = Object.entries(getTableColumns(table)).map(([key, column]) => {
    const value: unknown = values[key as keyof Columns<T>];
    if (is(value, SQL.Aliased) || is(value, Column)) return [key, value];
    if (is(value, SQL)) return [key, value.as(column.name)];
    return [key, value === undefined || value === null ? sql`NULL`.as(column.name) : sql`${value}`.as(column.name)];
  });
  return Object.fromEntries(row) as { [K in keyof Columns<T>]: SQL.Aliased<Columns<T>[K]["_"]["data"]> };
}

/**
 * The rows the previous INSERT of the batch wrote, by `id`: the ids of one INSERT are consecutive
 * and end at last_insert_rowid(). Read them with this rather than RETURNING where AFTER INSERT
 * triggers complete the rows (RETURNING shows them as the INSERT wrote them).
 */
export function lastInserted(id: Column, count = 1) {
  return sql`${id} > last_insert_rowid() - ${count} AND ${id} <= last_insert_rowid()`;
}
