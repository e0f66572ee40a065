// The benchmark's entry (scripts/bench.ts builds it instead of wrangler.toml's main, src/index.ts):
// the Worker as deployed, but with slot objects whose D1 calls each wait D1_LATENCY_MS (a variable
// only the benchmark's server is given), to measure a slot whose object runs far from D1.
import { SlotBookingObject as NearSlotBookingObject } from "../src/slots/slot-booking-object";
import { distantD1 } from "./distant-d1";

export * from "../src/index";
export { default } from "../src/index";

export class SlotBookingObject extends NearSlotBookingObject {
  constructor(ctx: DurableObjectState, env: Env & { D1_LATENCY_MS?: string }) {
    const ms = Number(env.D1_LATENCY_MS ?? 0);
    super(ctx, ms > 0 ? { ...env, DB: distantD1(env.DB, ms) } : env);
  }
}
