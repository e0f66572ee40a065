import { describe, expect, it } from "vitest";
import wranglerToml from "../wrangler.toml?raw";

// The simulated distance to D1 (build/distant-d1.ts) is the benchmark's: the Worker that
// `wrangler deploy` bundles from wrangler.toml's main must neither contain nor honour it.

const workerSources = import.meta.glob<string>("../src/**/*.ts", { query: "?raw", import: "default", eager: true });

describe("the deployed Worker has no simulated D1 latency", () => {
  it("wrangler.toml deploys src/index.ts, not the benchmark's entry (build/bench-worker.ts)", () => {
    expect(/^main = "(.*)"$/m.exec(wranglerToml)?.[1]).toBe("src/index.ts");
  });

  it("no module of the Worker imports the delay or reads D1_LATENCY_MS", () => {
    const sources = Object.entries(workerSources);
    expect(sources.length, "the Worker's modules were found").toBeGreaterThan(50);
    const hooked = sources.filter(([, source]) => /distant-d1|bench-worker|D1_LATENCY_MS/.test(source)).map(([path]) => path);
    expect(hooked).toEqual([]);
  });
});
