/// <reference types="vite/client" />
// Bindings that only the tests have (vitest.config.ts adds them to the Worker's own).
declare namespace Cloudflare {
  interface Env {
    /** The D1 migrations, read by vitest.config.ts and applied by test/setup.ts. */
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
  }
}
