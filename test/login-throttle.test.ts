import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { throttleCounter, type LoginThrottleObject } from "../src/auth/login-throttle";
import type { ErrorBody } from "../src/http/errors";
import { login, PASSWORD, register, statusCounts, uniqueEmail, type ApiResponse } from "./helpers";

const WRONG_PASSWORD = "not the password";
const LOGIN_WINDOW_SECONDS = 15 * 60;
const REGISTRATION_WINDOW_SECONDS = 60 * 60;


let addressCounter = 0;
/** A documentation address (RFC 3849) of its own for each use, so tests do not share address counters. */
const uniqueAddress = () => `2001:db8::${(++addressCounter).toString(16)}`;

/** A user registered through the API (not from any address, so no address counter is touched). */
async function registeredEmail(): Promise<string> {
  const email = uniqueEmail();
  expect((await register(email)).status).toBe(201);
  return email;
}

async function failLogins(times: number, email: () => string, address?: string): Promise<void> {
  for (let i = 0; i < times; i++) expect((await login(email(), WRONG_PASSWORD, address)).status).toBe(401);
}

function expectTooManyAttempts(response: ApiResponse<Partial<ErrorBody>>, windowSeconds: number): void {
  expect(response.status).toBe(429);
  expect(response.body).toEqual({ detail: expect.any(String), code: "too_many_attempts" });
  const retryAfter = Number(response.headers.get("Retry-After"));
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThan(windowSeconds - 10);
  expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("failed logins per email", () => {
  it("allow 5 failures in 15 minutes; the 6th attempt is 429 too_many_attempts with Retry-After in seconds", async () => {
    const email = await registeredEmail();
    await failLogins(5, () => email);
    expectTooManyAttempts(await login(email, WRONG_PASSWORD), LOGIN_WINDOW_SECONDS);
  });

  it("refuse even the right password while throttled", async () => {
    const email = await registeredEmail();
    await failLogins(5, () => email);
    expectTooManyAttempts(await login(email, PASSWORD), LOGIN_WINDOW_SECONDS);
  });

  it("refuse a throttled login without checking its password: no PBKDF2 runs", async () => {
    const email = await registeredEmail();
    await failLogins(5, () => email);
    const derive = vi.spyOn(crypto.subtle, "deriveBits");
    expect((await login(email, PASSWORD)).status).toBe(429);
    expect(derive).not.toHaveBeenCalled();
    expect((await login(uniqueEmail(), PASSWORD)).status).toBe(401);
    expect(derive).toHaveBeenCalled();
  });

  it("count an email that is not registered the same way", async () => {
    const email = uniqueEmail();
    await failLogins(5, () => email);
    expectTooManyAttempts(await login(email, WRONG_PASSWORD), LOGIN_WINDOW_SECONDS);
  });

  it("are cleared by a successful login: 5 more failures are allowed after it", async () => {
    const email = await registeredEmail();
    await failLogins(4, () => email);
    expect((await login(email, PASSWORD)).status).toBe(200);
    await failLogins(5, () => email);
    expect((await login(email, PASSWORD)).status).toBe(429);
  });

  it("leave other emails unaffected", async () => {
    const [throttled, other] = [await registeredEmail(), await registeredEmail()];
    await failLogins(5, () => throttled);
    expect((await login(throttled, PASSWORD)).status).toBe(429);
    expect((await login(other, PASSWORD)).status).toBe(200);
    expect((await login(other, WRONG_PASSWORD)).status).toBe(401);
  });

  it("let the email try again once the oldest failure is 15 minutes old", async () => {
    const email = await registeredEmail();
    await failLogins(5, () => email);
    const now = Date.now();
    vi.spyOn(Date, "now").mockReturnValue(now + LOGIN_WINDOW_SECONDS * 1000 + 1000);
    expect((await login(email, PASSWORD)).status).toBe(200);
  });

  it("survive a restart of the counting object", async () => {
    const email = await registeredEmail();
    await failLogins(5, () => email);
    await evictDurableObject(throttleCounter(env, "login-email", email));
    expect((await login(email, PASSWORD)).status).toBe(429);
  });

  it("cannot be outrun by parallel guesses: of 20 at once, at most 5 are checked, the rest 429", async () => {
    const email = await registeredEmail();
    const responses = await Promise.all(Array.from({ length: 20 }, () => login(email, WRONG_PASSWORD)));
    expect(statusCounts(responses)).toEqual({ 401: 5, 429: 15 });
  });
});

describe("failed logins per client address (CF-Connecting-IP)", () => {
  it("allow 5 failures from one address across any emails; the 6th attempt, for any email, is 429", async () => {
    const address = uniqueAddress();
    await failLogins(5, uniqueEmail, address);
    expectTooManyAttempts(await login(await registeredEmail(), PASSWORD, address), LOGIN_WINDOW_SECONDS);
  });

  it("leave other addresses unaffected, for the same emails", async () => {
    const [address, other] = [uniqueAddress(), uniqueAddress()];
    const email = await registeredEmail();
    await failLogins(5, uniqueEmail, address);
    expect((await login(email, PASSWORD, address)).status).toBe(429);
    expect((await login(email, PASSWORD, other)).status).toBe(200);
  });

  it("do not count successful logins: 10 in a row from one address all succeed", async () => {
    const address = uniqueAddress();
    const email = await registeredEmail();
    for (let i = 0; i < 10; i++) expect((await login(email, PASSWORD, address)).status).toBe(200);
  });

  it("are not cleared by a successful login from the address", async () => {
    const address = uniqueAddress();
    await failLogins(4, uniqueEmail, address);
    expect((await login(await registeredEmail(), PASSWORD, address)).status).toBe(200);
    await failLogins(1, uniqueEmail, address);
    expect((await login(uniqueEmail(), WRONG_PASSWORD, address)).status).toBe(429);
  });
});

describe("registrations per client address", () => {
  it("allow 10 in an hour from one address, counting refused ones; the 11th is 429 with Retry-After", async () => {
    const address = uniqueAddress();
    const taken = await registeredEmail();
    expect((await register(taken, PASSWORD, address)).status).toBe(409);
    for (let i = 0; i < 9; i++) expect((await register(uniqueEmail(), PASSWORD, address)).status).toBe(201);
    expectTooManyAttempts(await register(uniqueEmail(), PASSWORD, address), REGISTRATION_WINDOW_SECONDS);
  });

  it("leave other addresses unaffected", async () => {
    const [address, other] = [uniqueAddress(), uniqueAddress()];
    for (let i = 0; i < 10; i++) expect((await register(uniqueEmail(), PASSWORD, address)).status).toBe(201);
    expect((await register(uniqueEmail(), PASSWORD, address)).status).toBe(429);
    expect((await register(uniqueEmail(), other)).status).toBe(201);
  });

  it("are separate from login failures of the same address", async () => {
    const address = uniqueAddress();
    await failLogins(5, uniqueEmail, address);
    expect((await register(uniqueEmail(), PASSWORD, address)).status).toBe(201);
  });
});

describe("the counting object's storage", () => {
  it("is deleted by its alarm once every attempt has left the window", async () => {
    const email = uniqueEmail();
    await failLogins(2, () => email);
    const stub = throttleCounter(env, "login-email", email);
    const stored = () => runInDurableObject(stub, (_: LoginThrottleObject, state) => [...state.storage.kv.list()].length);
    expect(await stored()).toBe(1);
    vi.spyOn(Date, "now").mockReturnValue(Date.now() + LOGIN_WINDOW_SECONDS * 1000 + 1000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stored()).toBe(0);
  });
});
