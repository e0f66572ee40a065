import { and, eq, gt, lte, sql } from "drizzle-orm";
import type { Remember } from "../bookings/commands";
import type { Idempotency } from "../bookings/schemas";
import { batchOf, type Database } from "../db/client";
import { insertedRow } from "../db/insert-select";
import { idempotencyKeys } from "../db/schema";
import { toUtcIso } from "../db/time";
import { idempotencyKeyReused } from "../errors/catalogue";
import { failure, type Outcome } from "../objects/outcome";

// Idempotency records (idempotency_keys): owns what a slot object remembers of the requests sent
// with an Idempotency-Key, and the answer a repeat of one gets. A success is recorded in the batch
// of its change (`recorder`); a refusal (4xx) right after it (`recordRefusals`); a storage failure
// is not, so that a retry runs again.

export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

/** A request sent with an Idempotency-Key, by `userId`. */
export type KeyedRequest = { userId: number; idempotency: Idempotency };

/**
 * The statement that records a success of `userId`'s request in the batch of its change. One
 * statement either way, so that each batch has a fixed shape; without a key it records nothing.
 */
export function recorder(db: Database, userId: number, idempotency: Idempotency | undefined, now: string): Remember {
  const { key, request } = idempotency ?? { key: "", request: "" };
  return ({ from, where, outcomeJson }) =>
    db.insert(idempotencyKeys).select(
      db
        .select(insertedRow(idempotencyKeys, { userId, key, request, outcome: outcomeJson, createdAt: now }))
        .from(from)
        // `changes() = 1`: record the success only if the change before it changed its row.
        .where(and(where, sql`changes() = 1`, idempotency ? undefined : sql`0`)),
    );
}

/**
 * The recorded outcome of each earlier request with the same user and key (a 422 if it was another
 * request), or undefined where there is none: one D1 round trip for them all.
 */
export async function recall(db: Database, requests: KeyedRequest[]): Promise<(Outcome<unknown> | undefined)[]> {
  if (requests.length === 0) return [];
  const expired = toUtcIso(new Date(Date.now() - IDEMPOTENCY_WINDOW_MS));
  const statements = requests.flatMap(({ userId, idempotency }) => {
    const ofUser = eq(idempotencyKeys.userId, userId);
    return [
      db.delete(idempotencyKeys).where(and(ofUser, lte(idempotencyKeys.createdAt, expired))),
      db.select().from(idempotencyKeys).where(and(ofUser, eq(idempotencyKeys.key, idempotency.key), gt(idempotencyKeys.createdAt, expired))),
    ];
  });
  const results = await batchOf(db, statements);
  return requests.map(({ idempotency }, i) => {
    const [earlier] = results[2 * i + 1] as (typeof idempotencyKeys.$inferSelect)[];
    if (!earlier) return undefined;
    if (earlier.request !== idempotency.request) return failure(idempotencyKeyReused());
    return { ...(earlier.outcome as Outcome<unknown>), replayed: true };
  });
}

/** Records the refusals of requests sent with a key, so that a retry gets the same answer: one D1 round trip. */
export async function recordRefusals(db: Database, refusals: (KeyedRequest & { outcome: Outcome<unknown> })[], now: string): Promise<void> {
  if (refusals.length === 0) return;
  // One INSERT a refusal: D1 binds at most 100 parameters in one statement.
  const inserts = refusals.map(({ userId, idempotency: { key, request }, outcome }) => db.insert(idempotencyKeys).values({ userId, key, request, outcome, createdAt: now }));
  await batchOf(db, inserts);
}
