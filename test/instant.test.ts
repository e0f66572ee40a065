import { describe, expect, it } from "vitest";
import type { ErrorBody } from "../src/errors/catalogue";
import { parseInstant } from "../src/values/instant";
import { api } from "./support/client";
import { createSlot } from "./support/slots";
import { createUser } from "./support/users";

// Instants are stored as 'YYYY-MM-DDTHH:MM:SSZ' and compared as text, which holds only for years
// 1970 to 9999: beyond them the UTC form has more digits (+010000-...) and sorts wrongly.

const OUTSIDE = [
  ["an offset that carries 9999-12-31 into the year 10000", "9999-12-31T23:00:00-05:00"],
  ["the last second before 1970", "1969-12-31T23:59:59Z"],
  ["an offset that carries 1970-01-01 back into 1969", "1970-01-01T00:30:00+01:00"],
];

describe("parseInstant", () => {
  it.each([
    ["1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"],
    ["9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"],
    ["9999-12-31T23:59:59.999+00:00", "9999-12-31T23:59:59Z"],
    ["1970-01-01T01:00:00+01:00", "1970-01-01T00:00:00Z"],
  ])("accepts %j, within 1970 to 9999, as %j", (text, utc) => {
    expect(parseInstant(text)).toBe(utc);
  });

  it.each(OUTSIDE)("refuses %s (%j)", (_case, text) => {
    expect(parseInstant(text)).toBeUndefined();
  });
});

describe("every route that takes an instant refuses one outside 1970 to 9999 with 422 naming the field", () => {
  const routes: [string, string, (value: string) => Promise<{ status: number; body: ErrorBody }>][] = [];
  for (const field of ["from", "to"]) {
    routes.push(["GET /slots", field, (value) => api("GET", `/slots?${new URLSearchParams({ [field]: value })}`)]);
  }
  for (const field of ["start_time", "end_time"]) {
    const times = { start_time: "2040-01-01T10:00:00Z", end_time: "2040-01-01T11:00:00Z" };
    routes.push([
      "POST /admin/slots",
      field,
      async (value) => api("POST", "/admin/slots", { token: (await createUser("ADMIN")).token, body: { category_id: 1, max_capacity: 5, ...times, [field]: value } }),
    ]);
    routes.push([
      "PUT /admin/slots/{slot_id}",
      field,
      async (value) => api("PUT", `/admin/slots/${await createSlot()}`, { token: (await createUser("ADMIN")).token, body: { [field]: value } }),
    ]);
  }

  it.each(routes.flatMap(([route, field, send]) => OUTSIDE.map(([, value]) => [route, field, value, send] as const)))(
    "%s refuses %s=%j",
    async (_route, field, value, send) => {
      const response = await send(value);
      expect(response.status).toBe(422);
      expect(response.body.code).toBe("validation_error");
      expect(response.body.errors?.map((error) => error.field)).toEqual([field]);
    },
  );
});
