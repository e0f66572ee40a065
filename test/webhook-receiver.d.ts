// The contract between the webhook receiver (scripts/webhook-receiver.ts, started by
// test/global-setup.ts in Node) and the tests in workerd, which read back what it received.
import "vitest";

/** One request the receiver got, and the status it answered. */
export type ReceivedWebhook = { path: string; headers: Record<string, string>; body: string; answered: number };

declare module "vitest" {
  export interface ProvidedContext {
    /** The receiver's origin, e.g. http://127.0.0.1:40123. */
    webhookReceiver: string;
  }
}
