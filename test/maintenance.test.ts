import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { scheduled } from "../src/maintenance/scheduled";

// The cron has one module (wrangler.toml, [triggers]): src/maintenance/scheduled.ts. Its jobs are
// tested where their behaviour is: test/webhooks.test.ts and test/webhook-redelivery.test.ts (the
// outbox), test/reschedule.test.ts (interrupted moves).

describe("the scheduled maintenance", () => {
  it("is the Worker's scheduled handler, one module that src/index.ts only assembles", () => {
    expect(worker.scheduled).toBe(scheduled);
  });
});
