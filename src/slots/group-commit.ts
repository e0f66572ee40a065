import type { BatchItem, BatchResponse } from "drizzle-orm/batch";
import { type Remember, slotRow } from "../bookings/commands";
import type { Idempotency } from "../bookings/schemas";
import { batchOf, type Database } from "../db/client";
import { brokenConstraint, refusedByRule, toAppError } from "../db/failures";
import type { TimeSlotRow } from "../db/schema";
import { nowUtcIso } from "../db/time";
import { type AppError, idempotencyKeyReused } from "../errors/catalogue";
import { attempt, failure, type Outcome } from "../objects/outcome";
import { toSlotAvailability } from "../views/slot";
import { type KeyedRequest, recall, recorder, recordRefusals } from "./idempotency";
import { stateOf, type SlotMemory, type SlotState } from "./slot-state";

// Group commit: owns how the changes that gathered in the slot object's queue (serial-queue.ts,
// `gather`) are answered by one D1 batch. Each change's statements decide in D1, at their point
// of the batch, whether they act (a booking finds a place or not, a cancellation finds its entry
// live or not) and write nothing otherwise, so that changes in arrival order in one batch act
// exactly as they would one batch each; each change then reads its own answer from its results.

/**
 * Changes per group: at most 8 statements each (a cancellation), so that a group's batch stays
 * within D1's 1,000 queries per invocation (Workers Paid) with room for the rest of its task.
 */
export const GROUP_LIMIT = 50;

/**
 * A change's part of a batch: its statements, and its answer read from their results (an AppError
 * thrown refuses it); `refused` tells which of its rules a trigger of D1's refused it for, when
 * the change's batch was its own (undefined: none of its rules).
 */
export type Step<T> = {
  statements: readonly BatchItem<"sqlite">[];
  answer: (results: readonly unknown[]) => T;
  refused?: (error: unknown) => Promise<AppError | undefined>;
};

/** A step from statements written out as a tuple, whose answer reads their typed results. */
export function step<S extends readonly BatchItem<"sqlite">[], T>(
  statements: S,
  answer: (results: BatchResponse<S>) => T,
  refused?: Step<T>["refused"],
): Step<T> {
  return { statements, answer: (results) => answer(results as BatchResponse<S>), refused };
}

/** What a change's step is made with, when its group's turn comes. */
export type Plan = {
  db: Database;
  slotId: number;
  /** The batch's time: every change of a group acts at the same instant. */
  now: string;
  /** Records the change's success under its Idempotency-Key, in its batch (slots/idempotency.ts). */
  remember: Remember;
};

/** A request to change the slot's bookings that may share a batch with others. */
export type Change<T> = {
  /** The user who asks, whose Idempotency-Key `idempotency` is. */
  actor: number;
  idempotency?: Idempotency;
  /** The change's step; an AppError thrown refuses it without D1. */
  plan: (plan: Plan) => Step<T> | Promise<Step<T>>;
};

/** What a group is committed with: the slot object's memory, D1, and what follows a commit. */
export type GroupContext = {
  db: Database;
  slotId: number;
  memory: SlotMemory;
  /** Passes on a committed batch's results and sends the webhook events it wrote. */
  dispatch: <T extends readonly unknown[]>(results: T) => T;
  /** Tells the slot's watchers its availability after a committed change of it. */
  announce: () => void;
};

/**
 * Answers `changes` (in arrival order) as if each had run alone in that order, with one D1 batch
 * for them all: a repeat of an earlier Idempotency-Key gets that request's answer (one round trip
 * more for the group); the same key twice in the group acts once. If D1 fails the batch, the error
 * reaches the queue and no change is acknowledged; if it refuses the batch for one of its rules
 * (say, an account erased meanwhile), memory is dropped and each change runs in a batch of its
 * own, so that no change is refused for a neighbour's fault.
 */
export async function commitGroup(context: GroupContext, changes: Change<unknown>[]): Promise<Outcome<unknown>[]> {
  const { db, slotId, memory } = context;
  // A deleted or unknown slot (404) still answers each change by its own rules: a cancellation of
  // an entry that the deletion ended is 409 already_cancelled, a new entry 404 slot_not_found.
  const loaded = await attempt(() => memory.load(db, slotId));
  const before = loaded.ok ? loaded.value : undefined;
  const repeats = keyRepeats(changes);
  const outcomes: (Outcome<unknown> | undefined)[] = await replays(db, changes);
  /** The changes that were planned now: their refusals are recorded under their keys. */
  const planned = new Set<number>();
  const now = nowUtcIso();
  const steps: { index: number; step: Step<unknown> }[] = [];
  for (const [index, change] of changes.entries()) {
    if (outcomes[index] || repeats[index] !== undefined) continue;
    planned.add(index);
    const made = await attempt(async () => change.plan({ db, slotId, now, remember: recorder(db, change.actor, change.idempotency, now) }));
    if (made.ok) steps.push({ index, step: made.value });
    else outcomes[index] = made;
  }
  if (steps.length > 0) {
    try {
      const answers = await commitSteps(context, steps.map(({ step }) => step), before);
      steps.forEach(({ index }, i) => (outcomes[index] = answers[i]));
    } catch (error) {
      if (!refusedByRule(error)) throw error;
      memory.forget();
      if (changes.length > 1) return oneByOne(context, changes);
      // A change alone: one of its own rules refused it (say, a hold beyond the limit), if it says which.
      const refusal = await steps[0].step.refused?.(error);
      if (!refusal) throw error;
      outcomes[steps[0].index] = failure(refusal);
    }
  }
  // A repeat of a key used earlier in the group gets that change's answer, or 422 for another request.
  const answered = outcomes.map((outcome, index) => {
    const earlier = repeats[index];
    if (earlier === undefined) return outcome!;
    if (changes[earlier].idempotency!.request !== changes[index].idempotency!.request) return failure(idempotencyKeyReused());
    return { ...outcomes[earlier]!, replayed: true as const };
  });
  const refusals = changes.flatMap(({ actor, idempotency }, index): (KeyedRequest & { outcome: Outcome<unknown> })[] => {
    const outcome = answered[index];
    return idempotency && planned.has(index) && !outcome.ok && outcome.status < 500 ? [{ userId: actor, idempotency, outcome }] : [];
  });
  await recordRefusals(db, refusals, now);
  return answered;
}

/**
 * Runs `steps` in one D1 batch ending with the slot's row, and reads each step's answer from its
 * results; then memory holds the slot as the batch left it, and the watchers hear of a change in
 * its availability.
 */
async function commitSteps({ db, slotId, memory, dispatch, announce }: GroupContext, steps: Step<unknown>[], before: SlotState | undefined) {
  const results = await batchOf(db, [...steps.flatMap((step) => step.statements), slotRow(db, slotId)]).then(dispatch);
  let at = 0;
  const answers: Outcome<unknown>[] = [];
  for (const step of steps) {
    const own = results.slice(at, (at += step.statements.length));
    answers.push(await attempt(async () => step.answer(own)));
  }
  const [row] = results[at] as TimeSlotRow[];
  // No row: the slot was deleted behind this object's back.
  if (!row) memory.forget();
  else {
    memory.remember(row);
    const shown = (state: SlotState) => JSON.stringify(toSlotAvailability(slotId, state));
    if (before && shown(before) !== shown(stateOf(row))) announce();
  }
  return answers;
}

/** A key's recorded answer for each change that repeats one, one round trip for all. */
async function replays(db: Database, changes: Change<unknown>[]): Promise<(Outcome<unknown> | undefined)[]> {
  const keyed = changes.flatMap(({ actor, idempotency }, index) => (idempotency ? [{ index, userId: actor, idempotency }] : []));
  const recalled = await recall(db, keyed);
  const outcomes: (Outcome<unknown> | undefined)[] = changes.map(() => undefined);
  keyed.forEach(({ index }, i) => (outcomes[index] = recalled[i]));
  return outcomes;
}

/** For each change that repeats the user and Idempotency-Key of an earlier change of the group, that change's index. */
function keyRepeats(changes: Change<unknown>[]): (number | undefined)[] {
  const first = new Map<string, number>();
  return changes.map(({ actor, idempotency }, index) => {
    if (!idempotency) return undefined;
    const key = JSON.stringify([actor, idempotency.key]);
    const earlier = first.get(key);
    if (earlier === undefined) first.set(key, index);
    return earlier;
  });
}

/** After a batch refused for a constraint: each change in a batch of its own, a failure answering only that change. */
async function oneByOne(context: GroupContext, changes: Change<unknown>[]): Promise<Outcome<unknown>[]> {
  const outcomes: Outcome<unknown>[] = [];
  for (const change of changes) {
    try {
      outcomes.push(...(await commitGroup(context, [change])));
    } catch (error) {
      context.memory.forget();
      outcomes.push(await alreadyRecorded(context.db, change, error));
    }
  }
  return outcomes;
}

/**
 * A change alone that D1 refused: if the same key was recorded meanwhile by a request for another
 * slot, that request's answer (as for a repeat); else the failure.
 */
async function alreadyRecorded(db: Database, { actor, idempotency }: Change<unknown>, error: unknown): Promise<Outcome<unknown>> {
  const broken = brokenConstraint(error);
  try {
    if (idempotency && broken?.kind === "unique" && broken.on.startsWith("idempotency_keys.")) {
      const [winner] = await recall(db, [{ userId: actor, idempotency }]);
      if (winner) return winner;
    }
  } catch (recallError) {
    return failure(toAppError(recallError));
  }
  return failure(toAppError(error));
}
