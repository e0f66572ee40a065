import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { distantD1 } from "../../build/distant-d1";
import { slotObject } from "../../src/objects/stubs";

// A slot object far from D1, as the benchmark's --d1-latency-ms simulates it (build/distant-d1.ts).

/** Runs `run` while every D1 call of `slotId`'s object waits `ms` first. */
export async function whileSlotD1IsDistant<T>(slotId: number, ms: number, run: () => Promise<T>): Promise<T> {
  const stub = slotObject(env, slotId);
  const restore = await runInDurableObject(stub, (instance) => {
    const db = (instance as unknown as { env: Env }).env.DB;
    const near = db.withSession;
    db.withSession = (...args) => distantD1(near.apply(db, args), ms);
    return () => {
      db.withSession = near;
    };
  });
  try {
    return await run();
  } finally {
    await runInDurableObject(stub, () => restore());
  }
}
