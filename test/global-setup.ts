// Runs in Node before the tests (vitest.config.ts, globalSetup): a real webhook receiver on
// 127.0.0.1, which the Worker inside workerd POSTs to and the tests read back (test/webhooks.test.ts).
// Typechecked with the scripts (scripts/tsconfig.json), which have Node's types.
import type { TestProject } from "vitest/node";
import { startReceiver } from "../scripts/webhook-receiver";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { origin, server } = await startReceiver({ port: 0 });
  project.provide("webhookReceiver", origin);
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}
