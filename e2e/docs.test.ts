// Swagger UI at /docs in a real browser: it renders the API from this origin alone, offline,
// under the strict Content-Security-Policy (a blocked script or style would be a console error).
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumMissing, launchBrowser, screenshot, visit } from "./helpers";

describe.skipIf(chromiumMissing)("Swagger UI at /docs", () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("shows every operation, with nothing loaded from another origin and no console error", async () => {
    const visitor = await visit(browser, { path: "/docs" });
    try {
      const { page } = visitor;
      await page.locator('.opblock-summary-path[data-path="/bookings"]').first().waitFor();
      expect(await page.locator(".opblock").count()).toBeGreaterThan(10);
      await screenshot(page, "docs-desktop");
      expect(visitor.problems).toEqual([]);
    } finally {
      await visitor.close();
    }
  });
});
