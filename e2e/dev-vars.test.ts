import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { completeDevVars } from "../scripts/dev-vars";

// npm run setup's .dev.vars (scripts/dev-vars.ts): what it writes into a new file, and that it never
// writes back a line the developer deleted from an existing one.

let directory: string;
afterEach(() => rmSync(directory, { recursive: true, force: true }));
const devVars = () => {
  directory = mkdtempSync(join(tmpdir(), "slotbook-devvars-"));
  return join(directory, ".dev.vars");
};

describe("npm run setup's .dev.vars", () => {
  it("a new .dev.vars gets a random JWT_SECRET and WEBHOOKS_ALLOW_LOOPBACK=true", () => {
    const path = devVars();
    expect(completeDevVars(path)).toEqual(["JWT_SECRET", "WEBHOOKS_ALLOW_LOOPBACK"]);
    expect(readFileSync(path, "utf8")).toMatch(/^JWT_SECRET=[0-9a-f]{64}\nWEBHOOKS_ALLOW_LOOPBACK=true\n$/);
  });

  it("WEBHOOKS_ALLOW_LOOPBACK deleted from an existing .dev.vars stays deleted", () => {
    const path = devVars();
    writeFileSync(path, "JWT_SECRET=kept\n");
    expect(completeDevVars(path)).toEqual([]);
    expect(readFileSync(path, "utf8")).toBe("JWT_SECRET=kept\n");
  });

  it("a missing JWT_SECRET is always added, without touching the other lines", () => {
    const path = devVars();
    writeFileSync(path, "WEBHOOKS_ALLOW_LOOPBACK=false");
    expect(completeDevVars(path)).toEqual(["JWT_SECRET"]);
    expect(readFileSync(path, "utf8")).toMatch(/^WEBHOOKS_ALLOW_LOOPBACK=false\nJWT_SECRET=[0-9a-f]{64}\n$/);
  });
});
