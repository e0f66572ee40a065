import { and, eq, gt, lte, sql } from "drizzle-orm";
import type { Remember } from "../bookings/commands";
import type { Idempotency } from "../bookings/schemas";
import type { Database } from "../db/client";
import { brokenConstraint } from "../db/failures";
import { insertedRow } from "../db/insert-select";
import { idempotencyKeys } from "../db/schema";
import { nowUtcIso, toUtcIso } from "../db/time";
import { idempotencyKeyReused } from "../errors/catalogue";
import { attempt, failure, type Outcome } from "../objects/outcome";

// Idempotency records (idempotency_keys): owns what a slot object remembers of the requests sent
// with an Idempotency-Key, and the answer a repeat of one gets.

export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

/**
 * Runs `act` at most once per (user, Idempotency-Key) within the window, and answers repeats
 * with the first outcome. A success is recorded by `act` in the same batch as its change; a
 * refusal (4xx) is recorded after it; a storage failure is not, so a retry runs again.
 */
export async function idempotent<T>(
  db: Database,
  userId: number,
  idempotency: Idempotency | undefined,
  act: (remember: Remember) => Promise<T>,
): Promise<Outcome<T>> {
  const earlier = idempotency && (await recall<T>(db, userId, idempotency));
  if (earlier) return earlier;
  const { key, request } = idempotency ?? { key: "", request: "" };
  const now = nowUtcIso();
  const remember = recorder(db, userId, idempotency, now);
  try {
    const outcome = await attempt(() => act(remember));
    if (idempotency && !outcome.ok) await db.insert(idempotencyKeys).values({ userId, key, request, outcome, createdAt: now });
    return outcome;
  } catch (error) {
    // The same key was recorded meanwhile by a request for another slot: answer as for a repeat.
    const broken = brokenConstraint(error);
    if (idempotency && broken?.kind === "unique" && broken.on.startsWith("idempotency_keys.")) {
      const winner = await recall<T>(db, userId, idempotency);
      if (winner) return winner;
    }
    throw error;
  }
}

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

/** The recorded outcome of an earlier request with this key; a 422 if that request was another one. */
async function recall<T>(db: Database, userId: number, { key, request }: Idempotency): Promise<Outcome<T> | undefined> {
  const expired = toUtcIso(new Date(Date.now() - IDEMPOTENCY_WINDOW_MS));
  const ofUser = eq(idempotencyKeys.userId, userId);
  const [, [earlier]] = await db.batch([
    db.delete(idempotencyKeys).where(and(ofUser, lte(idempotencyKeys.createdAt, expired))),
    db.select().from(idempotencyKeys).where(and(ofUser, eq(idempotencyKeys.key, key), gt(idempotencyKeys.createdAt, expired))),
  ]);
  if (!earlier) return undefined;
  if (earlier.request !== request) return failure(idempotencyKeyReused());
  return { ...(earlier.outcome as Outcome<T>), replayed: true };
}
