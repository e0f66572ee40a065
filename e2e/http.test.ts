// How a real `wrangler dev` routes between the Worker and the static assets (wrangler.toml's
// [assets] run_worker_first), and /docs served whole from this origin. No browser needed.
import { describe, expect, it } from "vitest";
import { baseUrl, call } from "./helpers";

/** Every response of the Worker carries an X-Request-Id (src/http/app.ts); static assets never do. */
async function servedBy(path: string, method = "GET"): Promise<"worker" | "assets"> {
  const response = await fetch(`${baseUrl}${path}`, { method, redirect: "manual" });
  await response.arrayBuffer();
  return response.headers.has("X-Request-Id") ? "worker" : "assets";
}

function concretePath(template: string): string {
  return template.replace(/\{[^}]+\}/g, "1");
}

describe("routing between the Worker and the static assets", () => {
  it("sends every path and method of the OpenAPI document, /docs and /openapi.json to the Worker", async () => {
    const { body } = await call<{ paths: Record<string, Record<string, unknown>> }>("GET", "/openapi.json");
    const routes = Object.entries(body.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => [method.toUpperCase(), concretePath(path)] as const));
    expect(routes.length).toBeGreaterThan(10);
    for (const [method, path] of [...routes, ["GET", "/docs"] as const, ["GET", "/openapi.json"] as const]) {
      expect(`${method} ${path}: ${await servedBy(path, method)}`).toBe(`${method} ${path}: worker`);
    }
  });

  it("sends unknown paths, and paths that look like files, to the Worker: only / and /assets/* are static", async () => {
    for (const path of ["/no-such-route", "/index.html", "/favicon.ico", "/app.js", "/_headers"]) {
      expect(`${path}: ${await servedBy(path)}`).toBe(`${path}: worker`);
    }
    for (const path of ["/", "/assets/app.js", "/assets/app.css"]) expect(`${path}: ${await servedBy(path)}`).toBe(`${path}: assets`);
  });

  it("serves the page at / as HTML with the same Content-Security-Policy as the Worker's /docs", async () => {
    const page = await fetch(`${baseUrl}/`);
    const docs = await fetch(`${baseUrl}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(await page.text()).toContain('<script src="/assets/app.js" defer></script>');
    expect(page.headers.get("Content-Security-Policy")).toBe(docs.headers.get("Content-Security-Policy"));
    expect(page.headers.get("X-Frame-Options")).toBe("DENY");
  });
});

describe("GET /docs", () => {
  it("has a Content-Security-Policy that names no other origin and allows no inline script or style", async () => {
    const response = await fetch(`${baseUrl}/docs`);
    const policy = response.headers.get("Content-Security-Policy") ?? "";
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("style-src 'self'");
    expect(policy).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
  });

  it("references only same-origin scripts and stylesheets, and each of them is served", async () => {
    const html = await (await fetch(`${baseUrl}/docs`)).text();
    const scripts = [...html.matchAll(/<script\b[^>]*\bsrc="([^"]+)"/g)].map((match) => match[1]);
    const stylesheets = [...html.matchAll(/<link\b[^>]*\brel="stylesheet"[^>]*\bhref="([^"]+)"/g)].map((match) => match[1]);
    expect(scripts.length).toBeGreaterThanOrEqual(2);
    expect(stylesheets.length).toBeGreaterThanOrEqual(1);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    for (const reference of [...scripts, ...stylesheets]) {
      const url = new URL(reference, `${baseUrl}/docs`);
      expect(url.origin, reference).toBe(new URL(baseUrl).origin);
      const response = await fetch(url);
      const body = await response.text();
      expect(`${reference}: ${response.status}`).toBe(`${reference}: 200`);
      expect(response.headers.get("Content-Type"), reference).toMatch(scripts.includes(reference) ? /javascript/ : /text\/css/);
      expect(body.length, reference).toBeGreaterThan(50);
    }
  });
});
