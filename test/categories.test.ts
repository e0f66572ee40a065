import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ErrorBody } from "../src/http/errors";
import { api, createUser , uniqueName } from "./helpers";

type Category = { id: number; name: string };

const SEEDED: Category[] = [
  { id: 1, name: "Fitness" },
  { id: 2, name: "Consultation" },
  { id: 3, name: "Workshop" },
  { id: 4, name: "Venue" },
];


const listCategories = () => api<Category[]>("GET", "/categories");

async function createCategory(name: unknown, token?: string) {
  return api<Category & ErrorBody>("POST", "/admin/categories", { token, body: { name } });
}

describe("GET /categories", () => {
  it("lists, to anyone without authentication, the four categories seeded by the migration as {id, name}, by id", async () => {
    const { status, body } = await listCategories();
    expect(status).toBe(200);
    expect(body.slice(0, SEEDED.length)).toEqual(SEEDED);
    const ids = body.map((category) => category.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });
});

describe("POST /admin/categories", () => {
  it("creates a category for an admin: 201 {id, name}, then listed by GET /categories", async () => {
    const admin = await createUser("ADMIN");
    const name = uniqueName("Yoga");
    const { status, body } = await createCategory(name, admin.token);
    expect(status).toBe(201);
    expect(body).toEqual({ id: expect.any(Number), name });
    expect((await listCategories()).body).toContainEqual({ id: body.id, name });
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

describe("POST /admin/categories and read replicas", () => {
  it("answers with an x-d1-bookmark; GET /categories sent with it lists the new category", async () => {
    const admin = await createUser("ADMIN");
    const name = uniqueName("Bookmarked");
    const created = await createCategory(name, admin.token);
    expect(created.status).toBe(201);
    const bookmark = created.headers.get("x-d1-bookmark");
    expect(bookmark).toMatch(/^[0-9a-f-]+$/);
    const { body } = await api<Category[]>("GET", "/categories", { headers: { "x-d1-bookmark": bookmark! } });
    expect(body).toContainEqual({ id: created.body.id, name });
  });
});
