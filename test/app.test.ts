import { describe, expect, it } from "vitest";
import { z } from "@hono/zod-openapi";
import { MAX_BODY_BYTES } from "../src/http/app";
import type { ErrorBody } from "../src/errors/catalogue";
import { api, type ApiResponse } from "./support/client";
import { createUser } from "./support/users";

type Operation = { responses: Record<string, unknown>; operationId?: string; security?: Record<string, string[]>[] };
type OpenApiDocument = {
  openapi: string;
  components: { securitySchemes: Record<string, { type: string; scheme?: string }> };
  paths: Record<string, Record<string, Operation>>;
};

const CONTRACT_PATHS = [
  "/register",
  "/login",
  "/categories",
  "/user/preferences",
  "/slots",
  "/bookings",
  "/bookings/{booking_id}",
  "/admin/categories",
  "/admin/slots",
  "/admin/slots/{slot_id}",
  "/health",
];

/** Operations that cannot fail for a client reason, so need not document a 4xx. */
const NO_CLIENT_ERRORS = new Set(["GET /health", "GET /categories", "GET /openapi.json"]);

/** Every error is JSON: a string `detail` for people and a string `code` for programs. */
function expectError(response: ApiResponse<ErrorBody>, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get("Content-Type")).toMatch(/^application\/json\b/);
  expect(response.body).toMatchObject({ detail: expect.any(String), code });
}

const json = { "Content-Type": "application/json" };

/** A POST /register body of exactly `bytes` bytes, valid JSON, whose password is far too long. */
function registrationOfSize(bytes: number): string {
  const skeleton = JSON.stringify({ email: "big@example.com", password: "" });
  return JSON.stringify({ email: "big@example.com", password: "x".repeat(bytes - skeleton.length) });
}

describe("GET /health", () => {
  it('answers 200 {"status": "ok"}', async () => {
    const { status, body } = await api("GET", "/health");
    expect(status).toBe(200);
    expect(body).toEqual({ status: "ok" });
  });
});

describe("GET /openapi.json", () => {
  async function openApiDocument(): Promise<OpenApiDocument> {
    const { status, body } = await api<OpenApiDocument>("GET", "/openapi.json");
    expect(status).toBe(200);
    return body;
  }

  it("is an OpenAPI 3.1 document with a bearerAuth HTTP bearer security scheme", async () => {
    const document = await openApiDocument();
    expect(document.openapi).toMatch(/^3\.1\./);
    expect(document.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
  });

  it("lists every path of the API", async () => {
    expect(Object.keys((await openApiDocument()).paths)).toEqual(expect.arrayContaining(CONTRACT_PATHS));
  });

  it("names every operation with a unique camelCase operationId, for client generators", async () => {
    const operations = Object.values((await openApiDocument()).paths).flatMap((methods) => Object.values(methods));
    const ids = operations.map((operation) => operation.operationId);
    expect(ids.filter((id) => !/^[a-z][a-zA-Z0-9]*$/.test(id ?? ""))).toEqual([]);
    expect(new Set(ids).size).toBe(operations.length);
  });

  it("declares the security of every operation: none for the public ones, bearerAuth (optional on GET /slots) for the rest", async () => {
    const { paths } = await openApiDocument();
    const securityOf = (path: string, method: string) => paths[path][method].security;
    for (const [path, method] of [["/health", "get"], ["/register", "post"], ["/login", "post"], ["/categories", "get"]]) {
      expect(securityOf(path, method)).toEqual([]);
    }
    expect(securityOf("/slots", "get")).toEqual([{}, { bearerAuth: [] }]);
    const undeclared = Object.entries(paths).flatMap(([path, methods]) =>
      Object.entries(methods)
        .filter(([, operation]) => !Array.isArray(operation.security))
        .map(([method]) => `${method.toUpperCase()} ${path}`),
    );
    expect(undeclared).toEqual([]);
  });

  it("documents on every operation the errors it can answer before its handler runs: 400, 413 and 415 with a body, 500 on all", async () => {
    const operations = Object.entries((await openApiDocument()).paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ name: `${method.toUpperCase()} ${path}`, operation })),
    );
    const missing = operations.flatMap(({ name, operation }) =>
      [...("requestBody" in operation ? ["400", "413", "415"] : []), "500"]
        .filter((status) => !(status in operation.responses))
        .map((status) => `${name} ${status}`),
    );
    expect(missing).toEqual([]);
    expect(operations.find(({ name }) => name === "POST /bookings")!.operation.responses["415"]).toMatchObject({
      content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
    });
  });

  it("documents at least one 4xx response for every operation a client can get wrong", async () => {
    const operations = Object.entries((await openApiDocument()).paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ name: `${method.toUpperCase()} ${path}`, operation })),
    );
    expect(operations.map(({ name }) => name)).toContain("POST /bookings");
    const undocumented = operations
      .filter(({ name, operation }) => !NO_CLIENT_ERRORS.has(name) && !Object.keys(operation.responses).some((status) => /^4\d\d$/.test(status)))
      .map(({ name }) => name);
    expect(undocumented).toEqual([]);
  });
});

describe("GET /docs", () => {
  it("serves the Swagger UI page as HTML", async () => {
    const { status, body, headers } = await api<string>("GET", "/docs");
    expect(status).toBe(200);
    expect(headers.get("Content-Type")).toMatch(/^text\/html\b/);
    expect(body).toMatch(/swagger/i);
  });
});

describe("errors", () => {
  const cases: { rule: string; status: number; code: string; request: () => Promise<ApiResponse<ErrorBody>> }[] = [
    { rule: "an unknown route", status: 404, code: "not_found", request: () => api("GET", "/no-such-route") },
    {
      rule: "a malformed JSON body",
      status: 400,
      code: "malformed_request",
      request: () => api("POST", "/register", { rawBody: '{"email": "a@example.com",', headers: json }),
    },
    {
      rule: "a body that is not JSON",
      status: 415,
      code: "unsupported_media_type",
      request: () => api("POST", "/register", { rawBody: "email=a@example.com&password=12345678", headers: { "Content-Type": "application/x-www-form-urlencoded" } }),
    },
    {
      rule: "a text/plain body, even one holding JSON",
      status: 415,
      code: "unsupported_media_type",
      request: () => api("POST", "/register", { rawBody: JSON.stringify({ email: "a@example.com", password: "12345678" }), headers: { "Content-Type": "text/plain" } }),
    },
    {
      rule: `a body over ${MAX_BODY_BYTES} bytes`,
      status: 413,
      code: "payload_too_large",
      request: () => api("POST", "/register", { rawBody: registrationOfSize(MAX_BODY_BYTES + 1), headers: json }),
    },
    {
      rule: `a body of exactly ${MAX_BODY_BYTES} bytes (within the limit, refused by validation)`,
      status: 422,
      code: "validation_error",
      request: () => api("POST", "/register", { rawBody: registrationOfSize(MAX_BODY_BYTES), headers: json }),
    },
    { rule: "an anonymous call to a route that needs a user", status: 401, code: "not_authenticated", request: () => api("GET", "/bookings") },
    {
      rule: "a USER calling an admin route",
      status: 403,
      code: "forbidden",
      request: async () => api("POST", "/admin/slots", { token: (await createUser()).token, body: {} }),
    },
    {
      rule: "cancelling a booking that does not exist",
      status: 404,
      code: "booking_not_found",
      request: async () => api("DELETE", "/bookings/999999999", { token: (await createUser()).token }),
    },
  ];

  it.each(cases.map(({ rule, status, code, request }) => [rule, status, code, request] as const))(
    "answers %s with %i %s as a JSON error body",
    async (_, status, code, request) => {
      expectError(await request(), status, code);
    },
  );

  it.each(["abc", "0", "-1", "1.5", "1e3", "99999999999999999999"])(
    "answers a booking id %j in the path with a JSON 422 or 404, never a 500",
    async (id) => {
      const response = await api<ErrorBody>("DELETE", `/bookings/${id}`, { token: (await createUser()).token });
      expect([404, 422]).toContain(response.status);
      expectError(response, response.status, response.status === 422 ? "validation_error" : "booking_not_found");
    },
  );
});

describe("validation messages", () => {
  it("are English although the Worker bundles zod without its locale packs", async () => {
    const { status, body } = await api<ErrorBody>("POST", "/register", { body: { email: "ada@example.com", password: 12345678 } });
    expect(status).toBe(422);
    expect(body.errors).toEqual([{ field: "password", message: "Invalid input: expected string, received number" }]);
  });
});

describe("zod as the Worker bundles it (build/)", () => {
  it("is the trimmed build without JSON Schema conversion, in the tests as in the upload: validation works, toJSONSchema throws", () => {
    const schema = z.object({ name: z.string().min(2) });
    expect(schema.safeParse({ name: "ok" }).success).toBe(true);
    expect(schema.safeParse({ name: "x" }).success).toBe(false);
    expect(() => schema.toJSONSchema()).toThrow("not bundled");
  });
});
