import type { Role } from "../src/db/schema";

export type DemoAccount = { email: string; password: string; role: Role };

/** The accounts the README promises after `npm start` (scripts/setup.ts); the browser tests use them too. */
export const DEMO_ACCOUNTS: DemoAccount[] = [
  { email: "admin@slotbook.dev", password: "slotbook-admin", role: "ADMIN" },
  { email: "user@slotbook.dev", password: "slotbook-user", role: "USER" },
];
