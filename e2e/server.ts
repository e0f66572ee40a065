// One throw-away `wrangler dev` for the whole browser suite, started the way the scripts start
// theirs (scripts/dev-server.ts): fresh state, random JWT secret, loopback only, stopped at the end.
// The demo accounts of the README are created through the API (the admin promoted in D1).
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { DEMO_ACCOUNTS } from "../scripts/demo-accounts";
import { buildWorker, promoteToAdmin, randomSecret, startDevServer, stopEverything, temporaryDirectory } from "../scripts/dev-server";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const scratch = temporaryDirectory("slotbook-browser-");
  const persistTo = join(scratch.path, "state");
  const worker = await buildWorker(join(scratch.path, "worker"));
  const server = await startDevServer({ persistTo, worker, jwtSecret: randomSecret() });
  try {
    for (const { email, password, role } of DEMO_ACCOUNTS) {
      const response = await fetch(`${server.baseUrl}/register`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ email, password }),
      });
      if (response.status !== 201) throw new Error(`registering ${email}: ${response.status} ${await response.text()}`);
      if (role === "ADMIN") await promoteToAdmin(persistTo, email);
    }
  } catch (error) {
    await stopEverything();
    throw error;
  }
  project.provide("baseUrl", server.baseUrl);
  return stopEverything;
}
