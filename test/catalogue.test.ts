import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, errorOf, refusedFields } from "./support/client";
import { createSlot, hoursFromNow } from "./support/slots";
import { createUser, createUsers, uniqueName } from "./support/users";

// The catalogue kept tidy: categories renamed and removed (archived while past slots name them),
// and users found by email for a role change.

type Category = { id: number; name: string; archived_at?: string | null };

async function newCategory(admin: { token: string }, name = uniqueName("Pilates")): Promise<Category> {
  const created = await api<Category>("POST", "/admin/categories", { token: admin.token, body: { name } });
  expect(created.status).toBe(201);
  return created.body;
}

const listed = async (query = "") => (await api<Category[]>("GET", `/categories${query}`, { headers: { "Cache-Control": "no-cache" } })).body;

describe("PATCH /admin/categories/{category_id}", () => {
  it("renames it (200), audited; the new name follows the rules of creation", async () => {
    const admin = await createUser("ADMIN");
    const category = await newCategory(admin);
    const name = uniqueName("Mat Pilates");
    const renamed = await api<Category>("PATCH", `/admin/categories/${category.id}`, { token: admin.token, body: { name } });
    expect(renamed).toMatchObject({ status: 200, body: { id: category.id, name } });
    expect((await listed()).find((entry) => entry.id === category.id)?.name).toBe(name);
    const audit = await api<{ action: string; target: string; before: unknown; after: unknown }[]>("GET", "/admin/audit", { token: admin.token });
    expect(audit.body.find((entry) => entry.target === `category:${category.id}` && entry.action === "category.rename")).toMatchObject({
      before: { name: category.name },
      after: { name },
    });
    const refused = await api("PATCH", `/admin/categories/${category.id}`, { token: admin.token, body: { name: "bad\u202Ename" } });
    expect(refusedFields(refused)).toEqual({ status: 422, fields: ["name"] });
  });

  it("409 category_exists for another category's name as people read it; 404 for no category", async () => {
    const admin = await createUser("ADMIN");
    const [first, second] = [await newCategory(admin), await newCategory(admin)];
    const taken = await api("PATCH", `/admin/categories/${second.id}`, { token: admin.token, body: { name: first.name.toUpperCase() } });
    expect(errorOf(taken)).toEqual({ status: 409, code: "category_exists" });
    expect(errorOf(await api("PATCH", "/admin/categories/99999999", { token: admin.token, body: { name: uniqueName("x") } }))).toEqual({ status: 404, code: "category_not_found" });
  });
});

describe("DELETE /admin/categories/{category_id}", () => {
  it("409 category_in_use while one of its slots has not ended, and nothing changes", async () => {
    const admin = await createUser("ADMIN");
    const category = await newCategory(admin);
    await createSlot({ categoryId: category.id, startsInHours: -0.5 });
    expect(errorOf(await api("DELETE", `/admin/categories/${category.id}`, { token: admin.token }))).toEqual({ status: 409, code: "category_in_use" });
    expect((await listed()).map((entry) => entry.id)).toContain(category.id);
  });

  it("deletes a category no slot ever named: gone, its name free again, and out of every user's preferences", async () => {
    const admin = await createUser("ADMIN");
    const category = await newCategory(admin);
    const [user] = await createUsers(1);
    await api("POST", "/user/preferences", { token: user.token, body: { preferred_categories: [1, category.id] } });
    const removed = await api("DELETE", `/admin/categories/${category.id}`, { token: admin.token });
    expect(removed).toMatchObject({ status: 200, body: { archived: false } });
    expect((await listed("?include_archived=true")).map((entry) => entry.id)).not.toContain(category.id);
    expect((await api("GET", "/user/preferences", { token: user.token })).body).toEqual({ preferred_categories: [1] });
    expect((await api("POST", "/admin/categories", { token: admin.token, body: { name: category.name } })).status).toBe(201);
    expect(errorOf(await api("DELETE", `/admin/categories/${category.id}`, { token: admin.token }))).toEqual({ status: 404, code: "category_not_found" });
  });

  it("archives a category that only past slots name: they keep it, it leaves the list and takes no new slot or preference", async () => {
    const admin = await createUser("ADMIN");
    const category = await newCategory(admin);
    const past = await createSlot({ categoryId: category.id, startsInHours: -30 });
    const removed = await api("DELETE", `/admin/categories/${category.id}`, { token: admin.token });
    expect(removed).toMatchObject({ status: 200, body: { archived: true } });
    expect((await listed()).map((entry) => entry.id)).not.toContain(category.id);
    expect((await listed("?include_archived=true")).find((entry) => entry.id === category.id)).toEqual({ ...category, archived_at: expect.stringMatching(/Z$/) });
    const { category_id } = (await env.DB.prepare("SELECT category_id FROM time_slots WHERE id = ?").bind(past).first<{ category_id: number }>())!;
    expect(category_id).toBe(category.id);
    const start = hoursFromNow(48);
    const end = hoursFromNow(49);
    const slot = await api("POST", "/admin/slots", { token: admin.token, body: { category_id: category.id, start_time: start, end_time: end, max_capacity: 3 } });
    expect(errorOf(slot)).toEqual({ status: 422, code: "unknown_category" });
    const preference = await api("POST", "/user/preferences", { token: (await createUser()).token, body: { preferred_categories: [category.id] } });
    expect(errorOf(preference)).toEqual({ status: 422, code: "unknown_category" });
  });

  it("D1 itself refuses a slot in an archived category, so a slot created while it is removed cannot slip in", async () => {
    const admin = await createUser("ADMIN");
    const category = await newCategory(admin);
    await createSlot({ categoryId: category.id, startsInHours: -30 });
    await api("DELETE", `/admin/categories/${category.id}`, { token: admin.token });
    await expect(createSlot({ categoryId: category.id })).rejects.toThrow(/category archived/);
  });
});

describe("GET /admin/users", () => {
  it("finds users by the start of their email, ignoring case, in email order, at most limit", async () => {
    const admin = await createUser("ADMIN");
    const stem = `find-${Date.now()}`;
    for (const email of [`${stem}-b@example.com`, `${stem}-a@example.com`, `${stem.toUpperCase()}-c@example.com`.toLowerCase(), `other-${stem}@example.com`]) {
      await env.DB.prepare("INSERT INTO users (email, password_hash, role, created_at) VALUES (?, 'x', 'USER', '2026-01-01T00:00:00Z')").bind(email).run();
    }
    const found = await api<{ id: number; email: string; role: string; created_at: string }[]>("GET", `/admin/users?email=${stem.toUpperCase()}`, { token: admin.token });
    expect(found.status).toBe(200);
    expect(found.body.map((user) => user.email)).toEqual([`${stem}-a@example.com`, `${stem}-b@example.com`, `${stem}-c@example.com`]);
    expect(found.body[0]).toEqual({ id: expect.any(Number), email: `${stem}-a@example.com`, role: "USER", created_at: "2026-01-01T00:00:00Z" });
    expect((await api<unknown[]>("GET", `/admin/users?email=${stem}&limit=2`, { token: admin.token })).body).toHaveLength(2);
  });

  it("reads % and _ in the prefix as themselves, and is for admins only", async () => {
    const admin = await createUser("ADMIN");
    expect((await api<unknown[]>("GET", "/admin/users?email=%25", { token: admin.token })).body).toEqual([]);
    expect((await api<unknown[]>("GET", "/admin/users?email=_", { token: admin.token })).body).toEqual([]);
    expect((await api("GET", "/admin/users", { token: (await createUser()).token })).status).toBe(403);
  });
});
