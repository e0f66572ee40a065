import { expect } from "vitest";

// Property tests' settings (fast-check) and polling until a state is reached.

/**
 * fast-check settings for the property tests (model.test.ts, fuzz.test.ts): `numRuns` runs from a
 * fresh random seed, printed so that any run can be repeated. fast-check prints the seed and path
 * of a failure; replay it with, for example,
 *   VITE_FC_SEED=1234 VITE_FC_PATH="17:3:0" npx vitest run test/model.test.ts
 * VITE_FC_RUNS overrides `numRuns` (for a longer soak). Only VITE_-prefixed variables reach the
 * tests inside workerd (through import.meta.env); the vitest config passes no other environment.
 */
export function propertyRunSettings(numRuns: number): { seed: number; path?: string; numRuns: number } {
  const variables = (import.meta as ImportMeta & { env?: Record<string, string | undefined> }).env ?? {};
  const seed = variables.VITE_FC_SEED ? Number(variables.VITE_FC_SEED) : (Date.now() ^ (Math.random() * 0x1_0000_0000)) | 0;
  const path = variables.VITE_FC_PATH || undefined;
  return { seed, path, numRuns: variables.VITE_FC_RUNS ? Number(variables.VITE_FC_RUNS) : numRuns };
}

/** Polls `read` every 100 ms until `done` accepts its value (or `timeoutMs` passes, then fails); answers that value. */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) {
      expect.fail(`still not there after ${timeoutMs} ms: ${JSON.stringify(value).slice(0, 500)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
