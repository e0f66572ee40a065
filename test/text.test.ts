import { describe, expect, it } from "vitest";
import { visibleText } from "../src/values/text";
import { api } from "./support/client";
import { createUser, uniqueName } from "./support/users";

// The free-text rule (src/http/text.ts) on its own and where it is used (category names, at most
// 200 characters): the characters it refuses, and how it counts length.

const NAME = visibleText(200);

describe("free text refuses line breaks that are not control characters", () => {
  it.each([
    ["U+2028 LINE SEPARATOR", "Yo\u2028ga", "must not contain line or paragraph separators (U+2028, U+2029)"],
    ["U+2029 PARAGRAPH SEPARATOR", "Yoga\u2029", "must not contain line or paragraph separators (U+2028, U+2029)"],
    ["U+FEFF inside", "Yo\uFEFFga", "must not contain a byte order mark (U+FEFF)"],
    ["U+FEFF in front", "\uFEFFYoga", "must not contain a byte order mark (U+FEFF)"],
  ])("%s: refused, %s", (_, text, message) => {
    const result = NAME.safeParse(text);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.message)).toEqual([message]);
  });

  it("POST /admin/categories answers 422 naming `name` for a name with U+2028, so it never reaches an ICS line", async () => {
    const admin = await createUser("ADMIN");
    const { status, body } = await api<{ code: string; errors: { field: string }[] }>("POST", "/admin/categories", {
      token: admin.token,
      body: { name: uniqueName("Yoga\u2028SUMMARY:injected") },
    });
    expect(status).toBe(422);
    expect(body.errors.map(({ field }) => field)).toEqual(["name"]);
  });
});

describe("free text counts its length in code points, as JSON Schema's maxLength does", () => {
  it("accepts 200 emoji (200 code points, 400 UTF-16 units) and refuses 201", () => {
    expect(NAME.safeParse("\u{1F600}".repeat(200))).toMatchObject({ success: true, data: "\u{1F600}".repeat(200) });
    expect(NAME.safeParse("\u{1F600}".repeat(201)).error?.issues.map((issue) => issue.message)).toEqual(["must be at most 200 characters"]);
  });

  it("POST /admin/categories accepts a 200-code-point name with emoji, as its schema's maxLength: 200 promises", async () => {
    const admin = await createUser("ADMIN");
    const prefix = uniqueName("E");
    const name = prefix + "\u{1F3CB}".repeat(200 - [...prefix].length);
    const { status, body } = await api<{ name: string }>("POST", "/admin/categories", { token: admin.token, body: { name } });
    expect(status).toBe(201);
    expect(body.name).toBe(name);
  });
});
