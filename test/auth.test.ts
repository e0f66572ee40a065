import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { issueToken, keyIdOf } from "../src/auth/jwt";
import { hashPassword, PBKDF2_ITERATIONS, verifyPassword } from "../src/auth/password";
import { app } from "../src/index";
import { AppError, type ErrorBody } from "../src/errors/catalogue";
import { api, type ApiResponse } from "./support/client";
import { base64UrlOfText, nowSeconds, signed, validClaims, type Claims, type Signing } from "./support/tokens";
import { createUser, login, PASSWORD, register, uniqueEmail, type TestUser } from "./support/users";

// The secret vitest.config.ts gives the Worker; tokens signed with it are the server's own.
const TEST_SECRET = "test-secret-not-for-production-0123456789";
const OTHER_SECRET = "another-secret-not-for-production-012345";

type Header = { alg: string; typ?: string; kid?: string };

/** GET /user/preferences, the simplest route that needs a signed-in caller. */
function withAuthorization(authorization?: string): Promise<ApiResponse<ErrorBody>> {
  return api("GET", "/user/preferences", { headers: authorization === undefined ? {} : { Authorization: authorization } });
}

/** GET /user/preferences on the app given a JWT_SECRET of its own: the status. */
async function statusWithSecret(jwtSecret: string, token: string): Promise<number> {
  const response = await app.request("/user/preferences", { headers: { Authorization: `Bearer ${token}` } }, { ...env, JWT_SECRET: jwtSecret });
  return response.status;
}

const base64UrlEncode = (value: unknown) => base64UrlOfText(JSON.stringify(value));

function base64UrlDecode<T>(part: string): T {
  const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, "=")));
}

const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * The token with the last character of its signature replaced by one that decodes to the same
 * bytes: an HS256 signature is 32 bytes, 43 characters, whose last carries 2 bits that no byte uses.
 */
function withOtherTrailingBits(token: string): string {
  const last = token.at(-1)!;
  const other = BASE64URL_ALPHABET[BASE64URL_ALPHABET.indexOf(last) ^ 1];
  expect(base64UrlDecodeBytes(token.split(".")[2].slice(0, -1) + other)).toEqual(base64UrlDecodeBytes(token.split(".")[2]));
  return token.slice(0, -1) + other;
}

function base64UrlDecodeBytes(part: string): number[] {
  const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
  return Array.from(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, "=")), (char) => char.charCodeAt(0));
}

const headerOf = (token: string) => base64UrlDecode<Header>(token.split(".")[0]);
const claimsOf = (token: string) => base64UrlDecode<Claims>(token.split(".")[1]);

function validClaimsWithout(user: TestUser, claim: keyof Claims): Claims {
  const claims = validClaims(user);
  delete claims[claim];
  return claims;
}

async function bearer(claims: Claims, signing: Signing = {}): Promise<string> {
  return `Bearer ${await signed(claims, signing)}`;
}

/** The user's row in D1, looked up by the exact stored email. */
async function storedUser(email: string) {
  const row = await env.DB.prepare("SELECT id, role, password_hash FROM users WHERE email = ?")
    .bind(email)
    .first<{ id: number; role: string; password_hash: string }>();
  if (!row) throw new Error(`No user ${email} in D1`);
  return row;
}

describe("POST /register", () => {
  it("answers 201 with a bearer token that signs the caller in", async () => {
    const { status, body } = await register(uniqueEmail());
    expect(status).toBe(201);
    expect(body).toEqual({ access_token: expect.any(String), token_type: "bearer" });
    expect((await api("GET", "/user/preferences", { token: body.access_token })).status).toBe(200);
  });

  it("trims and lower-cases the email, so login with the canonical form works", async () => {
    const local = `alice-${Date.now()}`;
    expect((await register(`  ${local.toUpperCase()}@Example.COM `)).status).toBe(201);
    expect((await storedUser(`${local}@example.com`)).role).toBe("USER");
    const { status, body } = await login(`${local}@example.com`);
    expect(status).toBe(200);
    expect(body.token_type).toBe("bearer");
  });

  it.each(["not-an-email", "", "user@", "@example.com", "two@at@example.com"])("refuses the email %j with 422 naming the field email", async (email) => {
    const { status, body } = await register(email);
    expect(status).toBe(422);
    expect(body.code).toBe("validation_error");
    expect(body.errors?.[0].field).toBe("email");
  });

  it.each([
    ["7 characters", 7],
    ["129 characters", 129],
  ])("refuses a password of %s with 422 naming the field password", async (_, length) => {
    const { status, body } = await register(uniqueEmail(), "p".repeat(length));
    expect(status).toBe(422);
    expect(body.code).toBe("validation_error");
    expect(body.errors?.[0].field).toBe("password");
  });

  it.each([8, 128])("accepts a password of exactly %i characters", async (length) => {
    expect((await register(uniqueEmail(), "p".repeat(length))).status).toBe(201);
  });

  it.each(["password", "12345678", "qwertyuiop", "iloveyou1", "PassWord1", "QWERTYUIOP"])(
    "refuses the common password %j, whatever its case, with 422 weak_password naming the field password",
    async (password) => {
      const email = uniqueEmail();
      const { status, body } = await register(email, password);
      expect(status).toBe(422);
      expect(body).toEqual({ detail: expect.any(String), code: "weak_password", errors: [{ field: "password", message: expect.any(String) }] });
      expect(await env.DB.prepare("SELECT 1 FROM users WHERE email = ?").bind(email).first()).toBeNull();
    },
  );

  it("accepts a password that merely contains a common one", async () => {
    expect((await register(uniqueEmail(), "password-of-my-own")).status).toBe(201);
  });

  it("refuses an email already registered with 409 email_taken", async () => {
    const email = uniqueEmail();
    expect((await register(email)).status).toBe(201);
    const { status, body } = await register(email, "another password");
    expect(status).toBe(409);
    expect(body.code).toBe("email_taken");
  });

  it("refuses an email that differs from a registered one only in case with 409 email_taken", async () => {
    const email = uniqueEmail();
    expect((await register(email)).status).toBe(201);
    const { status, body } = await register(email.toUpperCase());
    expect(status).toBe(409);
    expect(body.code).toBe("email_taken");
  });

  it("makes admin@admin.com an ordinary USER: its token says USER and admin routes answer 403", async () => {
    const { status, body } = await register("admin@admin.com");
    expect(status).toBe(201);
    expect(claimsOf(body.access_token).role).toBe("USER");
    expect((await storedUser("admin@admin.com")).role).toBe("USER");
    const attempt = await api<ErrorBody>("POST", "/admin/categories", { token: body.access_token, body: { name: "Sneaky" } });
    expect(attempt.status).toBe(403);
    expect(attempt.body.code).toBe("forbidden");
  });
});

describe("POST /login", () => {
  it("answers 200 with a bearer token for the right password", async () => {
    const email = uniqueEmail();
    await register(email);
    const { status, body } = await login(email);
    expect(status).toBe(200);
    expect(body).toEqual({ access_token: expect.any(String), token_type: "bearer" });
    expect((await api("GET", "/user/preferences", { token: body.access_token })).status).toBe(200);
  });

  it("answers a wrong password and an unknown email with the identical 401 invalid_credentials body", async () => {
    const email = uniqueEmail();
    await register(email);
    const wrongPassword = await login(email, "wrong password");
    const unknownEmail = await login(uniqueEmail());
    expect(wrongPassword.status).toBe(401);
    expect(unknownEmail.status).toBe(401);
    expect(wrongPassword.body).toEqual({ detail: expect.any(String), code: "invalid_credentials" });
    expect(unknownEmail.body).toEqual(wrongPassword.body);
  });
});

describe("re-hashing on login", () => {
  /** A user whose hash was made with `iterations`, as an older version of the server would have stored it. */
  async function userHashedWith(iterations: number): Promise<string> {
    const email = uniqueEmail();
    await env.DB.prepare("INSERT INTO users (email, password_hash, role, created_at) VALUES (?, ?, 'USER', '2024-01-01T00:00:00Z')")
      .bind(email, await hashPassword(PASSWORD, iterations))
      .run();
    return email;
  }

  it("replaces a hash of fewer iterations than PBKDF2_ITERATIONS at the next successful login; the new one works", async () => {
    const email = await userHashedWith(1_000);
    expect((await storedUser(email)).password_hash).toMatch(/^pbkdf2-sha256\$1000\$/);
    expect((await login(email)).status).toBe(200);
    const rehashed = (await storedUser(email)).password_hash;
    expect(rehashed).toMatch(/^pbkdf2-sha256\$100000\$/);
    expect((await login(email)).status).toBe(200);
    expect((await storedUser(email)).password_hash).toBe(rehashed);
  });

  it("keeps the old hash after a failed login", async () => {
    const email = await userHashedWith(1_000);
    const before = (await storedUser(email)).password_hash;
    expect((await login(email, "wrong password")).status).toBe(401);
    expect((await storedUser(email)).password_hash).toBe(before);
  });
});

describe("password storage", () => {
  it("stores pbkdf2-sha256$100000$<salt>$<hash>, never the password", async () => {
    const email = uniqueEmail();
    await register(email);
    const { password_hash } = await storedUser(email);
    expect(password_hash).toMatch(/^pbkdf2-sha256\$100000\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/);
    expect(password_hash).not.toContain(PASSWORD);
  });

  it("salts each hash: two users with the same password get different salts and hashes", async () => {
    const [first, second] = [uniqueEmail(), uniqueEmail()];
    await register(first);
    await register(second);
    const [, , saltA, hashA] = (await storedUser(first)).password_hash.split("$");
    const [, , saltB, hashB] = (await storedUser(second)).password_hash.split("$");
    expect(saltA).not.toBe(saltB);
    expect(hashA).not.toBe(hashB);
  });

  it("uses exactly 100,000 PBKDF2 iterations, the most Cloudflare Workers allow", () => {
    expect(PBKDF2_ITERATIONS).toBe(100_000);
  });

  it("verifies a password within 100 ms of CPU in workerd (README: Performance)", async () => {
    const stored = await hashPassword(PASSWORD);
    const runs = 10;
    const started = performance.now();
    for (let i = 0; i < runs; i++) expect(await verifyPassword(PASSWORD, stored)).toBe(true);
    const perVerification = (performance.now() - started) / runs;
    console.log(`pbkdf2: one verification at ${PBKDF2_ITERATIONS} iterations took ${perVerification.toFixed(1)} ms`);
    expect(perVerification).toBeLessThan(100);
  });
});

describe("issued tokens", () => {
  it("are HS256 JWTs with the kid of JWT_SECRET's key, carrying sub (the user id), role, gen (the token generation), iss, aud, iat and exp one hour after iat", async () => {
    const email = uniqueEmail();
    const before = nowSeconds();
    const { body } = await register(email);
    expect(headerOf(body.access_token)).toEqual({ alg: "HS256", typ: "JWT", kid: await keyIdOf(TEST_SECRET) });
    expect(body.access_token.split(".")[2].length).toBeGreaterThan(0);
    const claims = claimsOf(body.access_token);
    expect(claims).toEqual({
      sub: String((await storedUser(email)).id),
      role: "USER",
      gen: 0,
      iss: "slotbook",
      aud: "slotbook-api",
      iat: expect.any(Number),
      exp: expect.any(Number),
    });
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.iat).toBeLessThanOrEqual(nowSeconds());
    expect(claims.exp! - claims.iat!).toBe(3600);
  });

  it("name their key by the first 16 hex digits of its SHA-256", async () => {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(TEST_SECRET)));
    const hex = Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
    expect(await keyIdOf(TEST_SECRET)).toBe(hex.slice(0, 16));
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each([undefined, "", " , "])("are refused with 500 server_misconfigured when JWT_SECRET is %j", async (jwtSecret) => {
    const attempt = issueToken({ ...env, JWT_SECRET: jwtSecret }, { id: 1, role: "USER" });
    await expect(attempt).rejects.toBeInstanceOf(AppError);
    await expect(attempt).rejects.toMatchObject({ status: 500, code: "server_misconfigured" });
  });

  it("make a request without JWT_SECRET answer 500 server_misconfigured, logged with its request id", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const user = await createUser();
    const response = await app.request("/user/preferences", { headers: { Authorization: `Bearer ${user.token}` } }, { ...env, JWT_SECRET: undefined });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ detail: expect.any(String), code: "server_misconfigured" });
    const requestId = response.headers.get("X-Request-Id")!;
    expect(log).toHaveBeenCalledWith(expect.stringContaining(`request ${requestId}: 500 server_misconfigured`), expect.stringMatching(/JWT_SECRET/));
  });
});

describe("bearer token checks", () => {
  it("accept a well-formed HS256 token signed with the server's secret (the control for the forgeries below)", async () => {
    const user = await createUser();
    expect((await withAuthorization(await bearer(validClaims(user)))).status).toBe(200);
  });

  const rejected: { rule: string; authorization: (user: TestUser) => Promise<string> }[] = [
    {
      rule: "a token with alg none",
      authorization: async (user) =>
        `Bearer ${base64UrlEncode({ alg: "none", typ: "JWT", kid: await keyIdOf(TEST_SECRET) })}.${base64UrlEncode(validClaims(user))}.`,
    },
    { rule: "a token whose header says HS512", authorization: (user) => bearer(validClaims(user), { alg: "HS512" }) },
    {
      rule: "a token whose header says RS256",
      authorization: async (user) => {
        const [, payload, signature] = (await signed(validClaims(user))).split(".");
        return `Bearer ${base64UrlEncode({ alg: "RS256", typ: "JWT", kid: await keyIdOf(TEST_SECRET) })}.${payload}.${signature}`;
      },
    },
    {
      rule: "a token whose payload was changed to role ADMIN",
      authorization: async (user) => {
        const [header, , signature] = user.token.split(".");
        return `Bearer ${header}.${base64UrlEncode({ ...claimsOf(user.token), role: "ADMIN" })}.${signature}`;
      },
    },
    {
      rule: "a token naming the server's key but signed with another",
      authorization: async (user) => bearer(validClaims(user), { secret: OTHER_SECRET, kid: await keyIdOf(TEST_SECRET) }),
    },
    { rule: "a token with an unknown kid", authorization: (user) => bearer(validClaims(user), { secret: OTHER_SECRET }) },
    {
      rule: "a token without kid",
      authorization: async (user) => {
        const [, payload, signature] = (await signed(validClaims(user))).split(".");
        return `Bearer ${base64UrlEncode({ alg: "HS256", typ: "JWT" })}.${payload}.${signature}`;
      },
    },
    { rule: "an expired token", authorization: (user) => bearer({ ...validClaims(user), iat: nowSeconds() - 7200, exp: nowSeconds() - 3600 }) },
    { rule: "a token without exp", authorization: (user) => bearer(validClaimsWithout(user, "exp")) },
    { rule: "a token not valid before a future nbf", authorization: (user) => bearer({ ...validClaims(user), nbf: nowSeconds() + 3600 }) },
    { rule: "a token without sub", authorization: (user) => bearer(validClaimsWithout(user, "sub")) },
    { rule: "a token from another issuer", authorization: (user) => bearer({ ...validClaims(user), iss: "someone-else" }) },
    { rule: "a token without iss", authorization: (user) => bearer(validClaimsWithout(user, "iss")) },
    { rule: "a token for another audience", authorization: (user) => bearer({ ...validClaims(user), aud: "another-api" }) },
    { rule: "a token without aud", authorization: (user) => bearer(validClaimsWithout(user, "aud")) },
    {
      rule: "a token of a user deleted since",
      authorization: async (user) => {
        await env.DB.prepare("DELETE FROM users WHERE id = ?").bind(user.id).run();
        return `Bearer ${user.token}`;
      },
    },
    { rule: "a valid token with = padding appended to its signature", authorization: async (user) => `Bearer ${user.token}=` },
    {
      rule: "a valid token whose signature's last character differs only in its unused trailing bits",
      authorization: async (user) => `Bearer ${withOtherTrailingBits(user.token)}`,
    },
    { rule: "a string that is not a JWT", authorization: async () => "Bearer not.a.jwt" },
    { rule: "a token whose signature has a length that no bytes have", authorization: async (user) => `Bearer ${user.token}AA` },
    { rule: "a Basic Authorization header", authorization: async () => "Basic xyz" },
  ];

  it.each(rejected.map(({ rule, authorization }) => [rule, authorization] as const))(
    "refuse %s with 401 invalid_token and WWW-Authenticate: Bearer",
    async (_, authorization) => {
      const user = await createUser();
      const { status, body, headers } = await withAuthorization(await authorization(user));
      expect(status).toBe(401);
      expect(body).toEqual({ detail: expect.any(String), code: "invalid_token" });
      expect(headers.get("WWW-Authenticate")).toBe("Bearer");
    },
  );

  it("answer every rejected token with the very same body, so the reason is not revealed", async () => {
    const responses = await Promise.all(rejected.map(async ({ authorization }) => withAuthorization(await authorization(await createUser()))));
    expect(responses.map(({ status }) => status)).toEqual(rejected.map(() => 401));
    expect(new Set(responses.map(({ body }) => JSON.stringify(body))).size).toBe(1);
  });

  it("answer a request without an Authorization header with 401 not_authenticated and WWW-Authenticate: Bearer", async () => {
    const { status, body, headers } = await withAuthorization(undefined);
    expect(status).toBe(401);
    expect(body).toEqual({ detail: expect.any(String), code: "not_authenticated" });
    expect(headers.get("WWW-Authenticate")).toBe("Bearer");
  });

  it("take the role from D1, not from the token: a validly signed token claiming ADMIN for a USER gets 403", async () => {
    const user = await createUser("USER");
    const response = await api<ErrorBody>("POST", "/admin/categories", {
      headers: { Authorization: await bearer({ ...validClaims(user), role: "ADMIN" }) },
      body: { name: `Claimed ${Date.now()}` },
    });
    expect(response.status).toBe(403);
    expect(response.body.code).toBe("forbidden");
  });
});

describe("key rotation: JWT_SECRET with several comma-separated keys", () => {
  const NEW_KEY = "rotated-key-not-for-production-abcdefghij";
  const OLD_KEY = "retired-key-not-for-production-klmnopqrst";
  const tokenWithKey = (key: string, user: TestUser) => issueToken({ ...env, JWT_SECRET: key }, { id: user.id, role: "USER" });

  it("signs new tokens with the first key, naming it by kid", async () => {
    const token = await issueToken({ ...env, JWT_SECRET: `${NEW_KEY},${OLD_KEY}` }, { id: 1, role: "USER" });
    expect(headerOf(token).kid).toBe(await keyIdOf(NEW_KEY));
  });

  it("still accepts a token signed with the second (old) key", async () => {
    const user = await createUser();
    const oldToken = await tokenWithKey(OLD_KEY, user);
    expect(await statusWithSecret(`${NEW_KEY},${OLD_KEY}`, oldToken)).toBe(200);
  });

  it("accepts tokens of either key whatever the order of the keys, and ignores blanks around commas", async () => {
    const user = await createUser();
    const tokens = [await tokenWithKey(NEW_KEY, user), await tokenWithKey(OLD_KEY, user)];
    for (const jwtSecret of [`${NEW_KEY},${OLD_KEY}`, `${OLD_KEY},${NEW_KEY}`, ` ${OLD_KEY} , ${NEW_KEY} `]) {
      for (const token of tokens) expect(await statusWithSecret(jwtSecret, token)).toBe(200);
    }
  });

  it("refuses a token of a key dropped from JWT_SECRET", async () => {
    const user = await createUser();
    const oldToken = await tokenWithKey(OLD_KEY, user);
    expect(await statusWithSecret(`${NEW_KEY},${OLD_KEY}`, oldToken)).toBe(200);
    expect(await statusWithSecret(NEW_KEY, oldToken)).toBe(401);
  });
});

describe("deleted accounts", () => {
  afterEach(() => vi.useRealTimers());

  it("are refused within 10 seconds even where the isolate had just seen them", async () => {
    const user = await createUser();
    expect((await withAuthorization(`Bearer ${user.token}`)).status).toBe(200);
    await env.DB.prepare("DELETE FROM users WHERE id = ?").bind(user.id).run();
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 10_001 });
    const response = await withAuthorization(`Bearer ${user.token}`);
    expect(response.status).toBe(401);
    expect(response.body.code).toBe("invalid_token");
  });

  it("lose admin routes at once, whatever the isolate remembers", async () => {
    const admin = await createUser("ADMIN");
    expect((await api("GET", "/admin/audit", { token: admin.token })).status).toBe(200);
    await env.DB.prepare("DELETE FROM audit_log WHERE actor_id = ?").bind(admin.id).run();
    await env.DB.prepare("DELETE FROM users WHERE id = ?").bind(admin.id).run();
    expect((await api("GET", "/admin/audit", { token: admin.token })).status).toBe(401);
  });
});
