import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Policy } from "../src/categories/policy";
import type { ErrorBody } from "../src/errors/catalogue";
import { api, FRESH } from "./support/client";
import { createUser, uniqueName } from "./support/users";

type Category = { id: number; name: string } & Policy;

/** The policy of a category created without one: no rule but the contract's, no cancelling once started. */
const NO_POLICY: Policy = {
  booking_opens_hours_before: null,
  booking_closes_minutes_before: null,
  cancel_until_minutes_before: 0,
  max_active_per_user: null,
};

const SEEDED: Category[] = [
  { id: 1, name: "Fitness", ...NO_POLICY },
  { id: 2, name: "Consultation", ...NO_POLICY },
  { id: 3, name: "Workshop", ...NO_POLICY },
  { id: 4, name: "Venue", ...NO_POLICY },
];


const listCategories = () => api<Category[]>("GET", "/categories", { headers: FRESH });

async function createCategory(name: unknown, token?: string) {
  return api<Category & ErrorBody>("POST", "/admin/categories", { token, body: { name } });
}

describe("GET /categories", () => {
  it("lists, to anyone without authentication, the four categories seeded by the migration as {id, name} with no booking policy, by id", async () => {
    const { status, body } = await listCategories();
    expect(status).toBe(200);
    expect(body.slice(0, SEEDED.length)).toEqual(SEEDED);
    const ids = body.map((category) => category.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });
});

describe("POST /admin/categories", () => {
  it("creates a category for an admin: 201 {id, name} with no booking policy, then listed by GET /categories", async () => {
    const admin = await createUser("ADMIN");
    const name = uniqueName("Yoga");
    const { status, body } = await createCategory(name, admin.token);
    expect(status).toBe(201);
    expect(body).toEqual({ id: expect.any(Number), name, ...NO_POLICY });
    expect((await listCategories()).body).toContainEqual({ id: body.id, name, ...NO_POLICY });
  });

  it("trims the name", async () => {
    const admin = await createUser("ADMIN");
    const name = uniqueName("Pottery");
    const { status, body } = await createCategory(`  ${name}  `, admin.token);
    expect(status).toBe(201);
    expect(body.name).toBe(name);
  });

  it("refuses a name already taken with 409 category_exists", async () => {
    const admin = await createUser("ADMIN");
    const name = uniqueName("Pilates");
    expect((await createCategory(name, admin.token)).status).toBe(201);
    const { status, body } = await createCategory(name, admin.token);
    expect(status).toBe(409);
    expect(body.code).toBe("category_exists");
  });

  it.each([
    ["a new category", (name: string) => name.toUpperCase()],
    ["a seeded category", () => "fitness"],
  ])("compares names case-insensitively: a differently cased name of %s is a 409 category_exists", async (_, variant) => {
    const admin = await createUser("ADMIN");
    const name = uniqueName("Dance");
    expect((await createCategory(name, admin.token)).status).toBe(201);
    const { status, body } = await createCategory(variant(name), admin.token);
    expect(status).toBe(409);
    expect(body.code).toBe("category_exists");
  });

  it.each([
    ["an empty name", ""],
    ["a blank name", "   "],
    ["a name that is not a string", 42],
    ["a missing name", undefined],
  ])("refuses %s with 422 naming the field name", async (_, name) => {
    const admin = await createUser("ADMIN");
    const { status, body } = await createCategory(name, admin.token);
    expect(status).toBe(422);
    expect(body.code).toBe("validation_error");
    expect(body.errors?.[0].field).toBe("name");
  });

  it("refuses a USER with 403 forbidden and creates nothing", async () => {
    const user = await createUser();
    const name = uniqueName("Forbidden");
    const { status, body } = await createCategory(name, user.token);
    expect(status).toBe(403);
    expect(body.code).toBe("forbidden");
    expect((await listCategories()).body.map((category) => category.name)).not.toContain(name);
  });

  it("refuses an anonymous caller with 401 not_authenticated", async () => {
    const { status, body } = await createCategory(uniqueName("Anonymous"));
    expect(status).toBe(401);
    expect(body.code).toBe("not_authenticated");
  });

  it("re-reads the role from D1: an admin demoted after their token was issued gets 403 forbidden", async () => {
    const admin = await createUser("ADMIN");
    expect((await createCategory(uniqueName("Before demotion"), admin.token)).status).toBe(201);
    await env.DB.prepare("UPDATE users SET role = 'USER' WHERE id = ?").bind(admin.id).run();
    const { status, body } = await createCategory(uniqueName("After demotion"), admin.token);
    expect(status).toBe(403);
    expect(body.code).toBe("forbidden");
  });
});

describe("POST /admin/categories: names as people see them", () => {
  it.each([
    ["a lone zero-width space", "\u200B"],
    ["only invisible characters", "\u200B\u200C\u2060\uFEFF"],
    ["only a Hangul filler", "\u3164"],
    ["only a combining mark", "\u0301"],
    ["a NUL", "Yo\u0000ga"],
    ["a newline", "Yo\nga"],
    ["a trailing newline", "Yoga\n"],
    ["a tab", "Yo\tga"],
    ["a C1 control character", "Yo\u0085ga"],
    ["a right-to-left override", "\u202EagoY"],
    ["a left-to-right embedding", "Yo\u202Aga"],
    ["a bidirectional isolate", "Yo\u2066ga\u2069"],
    ["an unpaired surrogate", "Yo\uD800ga"],
  ])("refuses a name with %s with 422 naming the field name", async (_, name) => {
    const admin = await createUser("ADMIN");
    const { status, body } = await createCategory(`${name}`, admin.token);
    expect(status).toBe(422);
    expect(body.code).toBe("validation_error");
    expect(body.errors?.map((error) => error.field)).toEqual(["name"]);
  });

  it("stores the name in NFC, without the spaces and invisible characters around it", async () => {
    const admin = await createUser("ADMIN");
    const name = uniqueName("Cafe\u0301");
    const { status, body } = await createCategory(`\u200B ${name}\u00A0\u2060`, admin.token);
    expect(status).toBe(201);
    expect(body.name).toBe(name.normalize("NFC"));
    expect(body.name.startsWith("Café")).toBe(true);
  });

  it.each([
    ["a zero-width space inside", (name: string) => `${name.slice(0, 2)}\u200B${name.slice(2)}`],
    ["a word joiner and a soft hyphen inside", (name: string) => `${name.slice(0, 1)}\u2060${name.slice(1, 3)}\u00AD${name.slice(3)}`],
    ["its decomposed (NFD) form", (name: string) => name.normalize("NFD")],
    ["other letter case beyond ASCII", (name: string) => name.toUpperCase()],
  ])("refuses a name that differs from an existing one only by %s with 409 category_exists", async (_, variant) => {
    const admin = await createUser("ADMIN");
    const name = uniqueName("école");
    expect((await createCategory(name, admin.token)).status).toBe(201);
    const { status, body } = await createCategory(variant(name), admin.token);
    expect(status).toBe(409);
    expect(body.code).toBe("category_exists");
  });

  it("compares with the categories that existed before the comparison key (keyed by migration 0004)", async () => {
    const admin = await createUser("ADMIN");
    const { status, body } = await createCategory("fit\u200BNESS", admin.token);
    expect(status).toBe(409);
    expect(body.code).toBe("category_exists");
  });

  it("accepts emoji sequences joined by a zero-width joiner, and keeps them as given", async () => {
    const admin = await createUser("ADMIN");
    const name = uniqueName("\u{1F469}\u200D\u{1F4BB} Coding \u{1F3F3}\uFE0F\u200D\u{1F308}");
    const { status, body } = await createCategory(name, admin.token);
    expect(status).toBe(201);
    expect(body.name).toBe(name);
  });

  it("is enforced by D1 itself: two categories with one comparison key cannot both exist", async () => {
    const insert = env.DB.prepare("INSERT INTO categories (name, name_key) VALUES (?, ?)");
    const key = uniqueName("key");
    await insert.bind(`${key} a`, key).run();
    await expect(insert.bind(`${key} b`, key).run()).rejects.toThrow(/UNIQUE constraint failed: categories.name_key/);
  });
});

describe("POST /admin/categories and read replicas", () => {
  it("answers with an x-d1-bookmark; GET /categories sent with it lists the new category", async () => {
    const admin = await createUser("ADMIN");
    const name = uniqueName("Bookmarked");
    const created = await createCategory(name, admin.token);
    expect(created.status).toBe(201);
    const bookmark = created.headers.get("x-d1-bookmark");
    expect(bookmark).toMatch(/^[0-9a-f-]+$/);
    const { body } = await api<Category[]>("GET", "/categories", { headers: { "x-d1-bookmark": bookmark! } });
    expect(body).toContainEqual({ id: created.body.id, name, ...NO_POLICY });
  });
});
