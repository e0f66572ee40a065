import { defineConfig } from "vitest/config";

// The page in a real browser (Debian's Chromium through playwright-core) and the HTTP routing
// of a real `wrangler dev`: started once by ./server.ts for all files, which run one at a time.
export default defineConfig({
  test: {
    include: ["e2e/**/*.test.ts"],
    environment: "node",
    // Every test by name, with the reason of each skip (a route this API does not have yet).
    reporters: ["verbose"],
    globalSetup: ["./e2e/server.ts"],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
