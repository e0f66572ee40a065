import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp, MAX_BODY_BYTES } from "../src/http/app";
import { DOCS_ASSETS } from "../src/http/docs";
import type { ErrorBody } from "../src/errors/catalogue";
import { api, type ApiResponse } from "./support/client";
import { createUser } from "./support/users";
import { whileWritesFail } from "./support/failures";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const json = { "Content-Type": "application/json" };

afterEach(() => {
  vi.restoreAllMocks();
});

/** The directives of a Content-Security-Policy header, by name. */
function directives(policy: string | null): Record<string, string[]> {
  return Object.fromEntries(
    (policy ?? "")
      .split(";")
      .map((directive) => directive.trim().split(/\s+/))
      .filter(([name]) => name)
      .map(([name, ...sources]) => [name, sources]),
  );
}

/** Makes GET /categories fail inside D1 (its table is renamed away) while `run` runs. */
async function whileCategoriesAreMissing<T>(run: () => Promise<T>): Promise<T> {
  await env.DB.prepare("ALTER TABLE categories RENAME TO categories_away").run();
  try {
    return await run();
  } finally {
    await env.DB.prepare("ALTER TABLE categories_away RENAME TO categories").run();
  }
}

const responsesOfEveryKind: [string, () => Promise<ApiResponse>][] = [
  ["200", () => api("GET", "/health")],
  ["401", () => api("GET", "/bookings")],
  ["404 (no route)", () => api("GET", "/no-such-route")],
  ["413", () => api("POST", "/login", { rawBody: "x".repeat(MAX_BODY_BYTES + 1), headers: json })],
  ["422", () => api("POST", "/login", { body: {} })],
  ["503", () => whileCategoriesAreMissing(() => api("GET", "/categories"))],
];

describe("X-Request-Id", () => {
  it.each(responsesOfEveryKind)("is a new UUID on a %s response to a request without one", async (_, send) => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    expect((await send()).headers.get("X-Request-Id")).toMatch(UUID);
  });

  it("differs between requests", async () => {
    const [first, second] = await Promise.all([api("GET", "/health"), api("GET", "/health")]);
    expect(first.headers.get("X-Request-Id")).not.toBe(second.headers.get("X-Request-Id"));
  });

  it.each(["req-42", "0f8fad5b-d9cb-469f-a165-70867728950e", "A".repeat(255)])("reuses a well-formed incoming one: %s", async (id) => {
    expect((await api("GET", "/health", { headers: { "X-Request-Id": id } })).headers.get("X-Request-Id")).toBe(id);
  });

  it.each(["has spaces", "semi;colon", "<script>", "A".repeat(256)])("replaces a malformed incoming one with a UUID: %s", async (id) => {
    expect((await api("GET", "/health", { headers: { "X-Request-Id": id } })).headers.get("X-Request-Id")).toMatch(UUID);
  });

  it("is in the line logged for a storage failure", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const response = await whileCategoriesAreMissing(() => api("GET", "/categories", { headers: { "X-Request-Id": "trace-me-1" } }));
    expect(response.status).toBe(503);
    expect(log).toHaveBeenCalledWith(
      "request trace-me-1: 503 storage_unavailable: Storage is temporarily unavailable; try again",
      expect.any(Error),
    );
  });
});

describe("security headers", () => {
  it.each(responsesOfEveryKind)("are on a %s response", async (_, send) => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { headers } = await send();
    expect(directives(headers.get("Content-Security-Policy"))).toEqual({ "default-src": ["'none'"], "frame-ancestors": ["'none'"] });
    expect(headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(headers.get("X-Frame-Options")).toBe("DENY");
    expect(headers.get("Strict-Transport-Security")).toMatch(/^max-age=\d+/);
    expect(headers.get("Referrer-Policy")).toBe("no-referrer");
    expect(headers.get("Cross-Origin-Resource-Policy")).toBe("same-origin");
  });

  it("let /docs load its scripts and stylesheet from this origin only, with no inline script and no other origin allowed", async () => {
    const { status, body, headers } = await api<string>("GET", "/docs");
    expect(status).toBe(200);
    const policy = directives(headers.get("Content-Security-Policy"));
    const scripts = [...body.matchAll(/<script src="([^"]+)"/g)].map((match) => match[1]);
    const stylesheets = [...body.matchAll(/<link rel="stylesheet" href="([^"]+)"/g)].map((match) => match[1]);
    expect(scripts).toEqual([DOCS_ASSETS.script, DOCS_ASSETS.start]);
    expect(stylesheets).toEqual([DOCS_ASSETS.stylesheet]);
    // Root-relative paths under /assets/: served by Workers static assets on this origin (e2e/http.test.ts fetches each).
    for (const path of [...scripts, ...stylesheets]) expect(path).toMatch(/^\/assets\/[\w./-]+$/);
    expect(body).not.toMatch(/<script>/);
    expect(policy["script-src"]).toEqual(["'self'"]);
    expect(policy["style-src"]).toEqual(["'self'"]);
    expect(Object.values(policy).flat().filter((source) => !source.startsWith("'") && source !== "data:")).toEqual([]);
    expect(policy["connect-src"]).toEqual(["'self'"]);
    expect(policy["frame-ancestors"]).toEqual(["'none'"]);
    expect(policy["default-src"]).toEqual(["'none'"]);
  });
});

const storageUnavailableBody = { detail: "Storage is temporarily unavailable; try again", code: "storage_unavailable" };

describe("storage failures outside a slot object", () => {
  it("answer 503 storage_unavailable with only the generic body: no stack trace, no SQL, no library message", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const response = await whileCategoriesAreMissing(() => api<ErrorBody>("GET", "/categories"));
    expect(response.status).toBe(503);
    expect(response.body).toStrictEqual(storageUnavailableBody);
    // The error itself was there to leak: it names the query and the table.
    const logged = String(log.mock.calls[0][1]) + String((log.mock.calls[0][1] as Error).cause);
    expect(logged).toMatch(/select/i);
    expect(logged).toMatch(/categories/);
  });

  it("a bug (any other error) answers 500 internal_error with only the generic body, and is logged", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const app = createApp().get("/broken", () => {
      throw new TypeError("secret detail of a bug");
    });
    const response = await app.request("/broken", {}, env);
    expect(response.status).toBe(500);
    expect(await response.json()).toStrictEqual({ detail: "Internal server error", code: "internal_error" });
    expect(String(log.mock.calls[0][1])).toContain("secret detail of a bug");
  });

  it("from a failing write answer the same 503 and generic body", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const admin = await createUser("ADMIN");
    const response = await whileWritesFail("categories", "INSERT", () =>
      api<ErrorBody>("POST", "/admin/categories", { token: admin.token, body: { name: "Never" } }),
    );
    expect(response.status).toBe(503);
    expect(response.body).toStrictEqual(storageUnavailableBody);
  });
});

describe("body size limit", () => {
  type OpenApiDocument = { paths: Record<string, Record<string, { requestBody?: { content: Record<string, unknown> } }>> };

  it(`refuses a body over ${MAX_BODY_BYTES} bytes with 413 payload_too_large on every route that takes JSON, before authentication`, async () => {
    const { body: document } = await api<OpenApiDocument>("GET", "/openapi.json");
    const jsonRoutes = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(([, operation]) => operation.requestBody?.content["application/json"])
        .map(([method]) => ({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, "1") })),
    );
    expect(jsonRoutes).toContainEqual({ method: "POST", path: "/register" });
    const oversized = JSON.stringify({ padding: "x".repeat(MAX_BODY_BYTES) });
    for (const { method, path } of jsonRoutes) {
      const response = await api<ErrorBody>(method, path, { rawBody: oversized, headers: json });
      expect({ route: `${method} ${path}`, status: response.status, code: response.body.code }).toEqual({
        route: `${method} ${path}`,
        status: 413,
        code: "payload_too_large",
      });
    }
  });
});
