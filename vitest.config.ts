import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig(async () => ({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          JWT_SECRET: "test-secret-not-for-production-0123456789",
          // As in local development: webhooks may point to the receiver of test/global-setup.ts on 127.0.0.1.
          WEBHOOKS_ALLOW_LOOPBACK: "true",
          // Applied by test/setup.ts: every test file starts from the real schema.
          TEST_MIGRATIONS: await readD1Migrations("./migrations"),
        },
      },
    }),
  ],
  // As wrangler.toml's [alias]: tests run the zod that the deployed Worker bundles.
  resolve: {
    alias: [
      { find: /^zod$/, replacement: fileURLToPath(new URL("./build/zod-trimmed.ts", import.meta.url)) },
      { find: /^\.\.\/core\/(json-schema-processors|to-json-schema)\.js$/, replacement: fileURLToPath(new URL("./build/zod-without-json-schema.ts", import.meta.url)) },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["./test/setup.ts"],
    globalSetup: ["./test/global-setup.ts"],
    testTimeout: 60_000,
  },
}));
