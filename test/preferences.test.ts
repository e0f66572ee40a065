import { describe, expect, it } from "vitest";
import type { ErrorBody } from "../src/errors/catalogue";
import type { SlotView } from "../src/views/slot";
import { api } from "./support/client";
import { createSlot } from "./support/slots";
import { createUser } from "./support/users";

type Preferences = { preferred_categories: number[] };

function setPreferences(token: string | undefined, body: unknown) {
  return api<{ message: string } & ErrorBody>("POST", "/user/preferences", { token, body });
}

async function preferencesOf(token: string): Promise<number[]> {
  const { status, body } = await api<Preferences>("GET", "/user/preferences", { token });
  expect(status).toBe(200);
  return body.preferred_categories;
}

/** A user whose preferences were set (and accepted) to `categories`. */
async function userPreferring(categories: number[]) {
  const user = await createUser();
  expect((await setPreferences(user.token, { preferred_categories: categories })).status).toBe(200);
  return user;
}

describe("POST and GET /user/preferences", () => {
  it('answers POST with 200 {"message": "Preferences updated"}', async () => {
    const user = await createUser();
    const { status, body } = await setPreferences(user.token, { preferred_categories: [1, 2] });
    expect(status).toBe(200);
    expect(body).toEqual({ message: "Preferences updated" });
  });

  it("starts with no preferences", async () => {
    const user = await createUser();
    expect(await preferencesOf(user.token)).toEqual([]);
  });

  it("returns the stored ids in ascending order", async () => {
    const user = await userPreferring([3, 1, 2]);
    expect(await preferencesOf(user.token)).toEqual([1, 2, 3]);
  });

  it("replaces the previous preferences rather than adding to them", async () => {
    const user = await userPreferring([1, 2]);
    await setPreferences(user.token, { preferred_categories: [3] });
    expect(await preferencesOf(user.token)).toEqual([3]);
  });

  it("stores an id listed twice only once", async () => {
    const user = await userPreferring([2, 2, 1, 2]);
    expect(await preferencesOf(user.token)).toEqual([1, 2]);
  });

  it("clears them with an empty list", async () => {
    const user = await userPreferring([1, 4]);
    expect((await setPreferences(user.token, { preferred_categories: [] })).status).toBe(200);
    expect(await preferencesOf(user.token)).toEqual([]);
  });

  it("keeps each user's preferences to that user", async () => {
    const first = await userPreferring([1]);
    const second = await userPreferring([4]);
    expect(await preferencesOf(first.token)).toEqual([1]);
    expect(await preferencesOf(second.token)).toEqual([4]);
  });

  it.each([
    ["only an unknown id", [999_999]],
    ["a known and an unknown id", [3, 999_999]],
  ])("refuses %s with 422 unknown_category and leaves the previous preferences unchanged", async (_, wanted) => {
    const user = await userPreferring([1, 2]);
    const { status, body } = await setPreferences(user.token, { preferred_categories: wanted });
    expect(status).toBe(422);
    expect(body.code).toBe("unknown_category");
    expect(body.errors?.[0].field).toBe("preferred_categories");
    expect(await preferencesOf(user.token)).toEqual([1, 2]);
  });

  it.each([
    ["a fractional id", { preferred_categories: [1.5] }],
    ["a negative id", { preferred_categories: [-1] }],
    ["id 0", { preferred_categories: [0] }],
    ["an id given as a string", { preferred_categories: ["1"] }],
    ["a comma-separated string instead of a list", { preferred_categories: "1,2" }],
    ["a single number instead of a list", { preferred_categories: 1 }],
    ["null instead of a list", { preferred_categories: null }],
    ["a body without preferred_categories", {}],
  ])("refuses %s with 422 naming preferred_categories", async (_, body) => {
    const user = await userPreferring([2]);
    const response = await setPreferences(user.token, body);
    expect(response.status).toBe(422);
    expect(response.body.code).toBe("validation_error");
    expect(response.body.errors?.[0].field).toMatch(/^preferred_categories\b/);
    expect(await preferencesOf(user.token)).toEqual([2]);
  });

  it.each([
    ["GET", undefined],
    ["POST", { preferred_categories: [1] }],
  ])("answers an anonymous %s with 401 not_authenticated", async (method, body) => {
    const response = await api<ErrorBody>(method, "/user/preferences", { body });
    expect(response.status).toBe(401);
    expect(response.body.code).toBe("not_authenticated");
  });
});

describe("GET /slots and preferences", () => {
  /** One new slot in category 1 and one in category 2. */
  async function slotsInCategoriesOneAndTwo() {
    return { inOne: await createSlot({ categoryId: 1 }), inTwo: await createSlot({ categoryId: 2 }) };
  }

  async function slotsSeenBy(token?: string, query = "") {
    const { status, body } = await api<SlotView[]>("GET", `/slots${query}`, { token });
    expect(status).toBe(200);
    return { ids: body.map((slot) => slot.id), categories: new Set(body.map((slot) => slot.category_id)) };
  }

  it("shows a signed-in user with preferences [2] only category-2 slots when no categories are asked for", async () => {
    const { inOne, inTwo } = await slotsInCategoriesOneAndTwo();
    const user = await userPreferring([2]);
    const seen = await slotsSeenBy(user.token);
    expect(seen.categories).toEqual(new Set([2]));
    expect(seen.ids).toContain(inTwo);
    expect(seen.ids).not.toContain(inOne);
  });

  it("lets ?categories=1 override the caller's preferences", async () => {
    const { inOne, inTwo } = await slotsInCategoriesOneAndTwo();
    const user = await userPreferring([2]);
    const seen = await slotsSeenBy(user.token, "?categories=1");
    expect(seen.categories).toEqual(new Set([1]));
    expect(seen.ids).toContain(inOne);
    expect(seen.ids).not.toContain(inTwo);
  });

  it("shows all categories to a signed-in user without preferences", async () => {
    const { inOne, inTwo } = await slotsInCategoriesOneAndTwo();
    const user = await createUser();
    expect((await slotsSeenBy(user.token)).ids).toEqual(expect.arrayContaining([inOne, inTwo]));
  });

  it("shows all categories again once preferences are cleared", async () => {
    const { inOne, inTwo } = await slotsInCategoriesOneAndTwo();
    const user = await userPreferring([2]);
    await setPreferences(user.token, { preferred_categories: [] });
    expect((await slotsSeenBy(user.token)).ids).toEqual(expect.arrayContaining([inOne, inTwo]));
  });

  it("shows all categories to an anonymous caller", async () => {
    const { inOne, inTwo } = await slotsInCategoriesOneAndTwo();
    await userPreferring([2]);
    expect((await slotsSeenBy()).ids).toEqual(expect.arrayContaining([inOne, inTwo]));
  });
});
