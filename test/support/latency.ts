import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { distantD1 } from "../../build/distant-d1";
import { slotObject } from "../../src/objects/stubs";

// A slot object far from D1, as the benchmark's --d1-latency-ms simulates it (build/distant-d1.ts).

/** How many D1 batches a slot object sent while `whileSlotD1IsDistant` ran. */
export type BatchCount = { batches: number };

/** `session` with its batches counted in `count`. */
function counted(session: D1DatabaseSession, count: BatchCount): D1DatabaseSession {
  return new Proxy(session, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== "function") return value;
      if (key === "batch") count.batches++;
      return value.bind(target);
    },
  });
}

/** Runs `run` while every D1 call of `slotId`'s object waits `ms` first, counting its batches in `count`. */
export async function whileSlotD1IsDistant<T>(slotId: number, ms: number, run: () => Promise<T>, count: BatchCount = { batches: 0 }): Promise<T> {
  const stub = slotObject(env, slotId);
  const restore = await runInDurableObject(stub, (instance) => {
    const db = (instance as unknown as { env: Env }).env.DB;
    const near = db.withSession;
    db.withSession = (...args) => distantD1(counted(near.apply(db, args), count), ms);
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
