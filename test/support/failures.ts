import { env } from "cloudflare:workers";

// Real D1 failures, no mock: a trigger that makes writes fail while a test runs.

/**
 * Makes the writes of one kind to `table` fail inside D1 while `run` runs (those to rows matching
 * `when`, a condition on OLD or NEW, if given): a real D1 error from a trigger, no mock.
 */
export async function whileWritesFail<T>(table: string, operation: "INSERT" | "UPDATE", run: () => Promise<T>, when?: string): Promise<T> {
  const condition = when === undefined ? "" : ` WHEN ${when}`;
  await env.DB.prepare(
    `CREATE TRIGGER injected_failure BEFORE ${operation} ON ${table}${condition} BEGIN SELECT RAISE(ABORT, 'injected storage failure'); END`,
  ).run();
  try {
    return await run();
  } finally {
    await env.DB.prepare("DROP TRIGGER injected_failure").run();
  }
}

/** Makes every write of one kind to `bookings` fail inside D1 while `run` runs. */
export function whileBookingWritesFail<T>(operation: "INSERT" | "UPDATE", run: () => Promise<T>): Promise<T> {
  return whileWritesFail("bookings", operation, run);
}
