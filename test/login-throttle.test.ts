import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { addressKey, UNKNOWN_ADDRESS } from "../src/auth/client-address";
import { loginCounters, throttleCounter, type LoginThrottleObject } from "../src/auth/login-throttle";
import type { ErrorBody } from "../src/errors/catalogue";
import { login, PASSWORD, register, uniqueEmail } from "./support/users";
import { statusCounts, type ApiResponse } from "./support/client";

const WRONG_PASSWORD = "not the password";
const LOGIN_WINDOW_SECONDS = 15 * 60;
const REGISTRATION_WINDOW_SECONDS = 60 * 60;


let addressCounter = 0;
/**
 * A documentation address (RFC 3849) in a /64 of its own for each use, so tests do not share
 * address counters (the throttle counts an IPv6 address by its /64).
 */
const uniqueAddress = () => `2001:db8:${(++addressCounter).toString(16)}::1`;
/** An IPv4 address of its own for each use, in the benchmarking range 198.18.0.0/15 (RFC 2544). */
const uniqueIpv4 = () => `198.18.${(++addressCounter >> 8) & 255}.${addressCounter & 255}`;

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

  it("survive a restart of the counting objects", async () => {
    const email = await registeredEmail();
    await failLogins(5, () => email);
    for (const { rule, subject } of loginCounters(email, undefined)) await evictDurableObject(throttleCounter(env, rule, subject));
    expect((await login(email, PASSWORD)).status).toBe(429);
  });

  it("cannot be outrun by parallel guesses: of 20 at once, at most 5 are checked, the rest 429", async () => {
    const email = await registeredEmail();
    const responses = await Promise.all(Array.from({ length: 20 }, () => login(email, WRONG_PASSWORD)));
    expect(statusCounts(responses)).toEqual({ 401: 5, 429: 15 });
  });
});

describe("failed logins for someone else's email", () => {
  it("lock out only the address they came from: after 5 failures from A, A is refused (429) while the owner logs in from B (200)", async () => {
    const email = await registeredEmail();
    const [attacker, owner] = [uniqueAddress(), uniqueAddress()];
    await failLogins(5, () => email, attacker);
    expectTooManyAttempts(await login(email, PASSWORD, attacker), LOGIN_WINDOW_SECONDS);
    expect((await login(email, PASSWORD, owner)).status).toBe(200);
  });

  it("still stop a distributed guess: after 50 failures for one email from 50 addresses, a 51st address gets 429", async () => {
    const email = await registeredEmail();
    for (let i = 0; i < 50; i++) expect((await login(email, WRONG_PASSWORD, uniqueAddress())).status).toBe(401);
    expectTooManyAttempts(await login(email, WRONG_PASSWORD, uniqueAddress()), LOGIN_WINDOW_SECONDS);
    expect((await login(email, PASSWORD, uniqueAddress())).status).toBe(429);
  });

  it("are not counted when another counter refuses them: 50 attempts from a throttled address leave the email free elsewhere", async () => {
    const email = await registeredEmail();
    const [throttled, other] = [uniqueAddress(), uniqueAddress()];
    await failLogins(5, uniqueEmail, throttled);
    for (let i = 0; i < 50; i++) expect((await login(email, WRONG_PASSWORD, throttled)).status).toBe(429);
    expect((await login(email, PASSWORD, other)).status).toBe(200);
  });
});

describe("client address keys", () => {
  it.each([
    ["198.18.117.237", "198.18.117.237"],
    ["198.018.117.237", "198.18.117.237"],
    ["000.001.010.100", "0.1.10.100"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    ["2001:DB8:0001:0002::ffff", "2001:db8:1:2::/64"],
    ["2001:db8::", "2001:db8:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
    ["::", "0:0:0:0::/64"],
    ["::ffff:198.51.100.7", "198.51.100.7"],
    ["::ffff:c633:6407", "198.51.100.7"],
    ["64:ff9b::198.51.100.7", "64:ff9b:0:0::/64"],
    ...["", "localhost", "999.1.1.1", "1.2.3", "1.2.3.4.5", "0x7f.0.0.1", "1.2.3.0004", "2001:db8::1::2", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "12345::", "::ffff:1.2.3.256", "fe80::1%eth0", "[2001:db8::1]", " 1.2.3.4"].map(
      (value) => [value, UNKNOWN_ADDRESS],
    ),
  ])("key %j as %j", (address, key) => {
    expect(addressKey(address)).toBe(key);
  });

  it("read 198.018.117.237 as 198.18.117.237: leading zeros get no fresh counter", async () => {
    const address = uniqueIpv4();
    const [a, b, c, d] = address.split(".");
    const padded = [a, b.padStart(3, "0"), c.padStart(3, "0"), d.padStart(3, "0")].join(".");
    await failLogins(5, uniqueEmail, address);
    expect((await login(uniqueEmail(), WRONG_PASSWORD, padded)).status).toBe(429);
  });

  it("count an IPv6 address by its /64: another address in the same /64 is throttled, one in the next /64 is not", async () => {
    const address = uniqueAddress();
    const prefix = address.slice(0, -"::1".length);
    await failLogins(5, uniqueEmail, address);
    expect((await login(uniqueEmail(), WRONG_PASSWORD, `${prefix}:0:ffff:ffff:ffff:ffff`)).status).toBe(429);
    expect((await login(uniqueEmail(), WRONG_PASSWORD, `${prefix.toUpperCase()}:0000::0001`)).status).toBe(429);
    expect((await login(uniqueEmail(), WRONG_PASSWORD, uniqueAddress())).status).toBe(401);
  });

  it("count an IPv4-mapped IPv6 address as its IPv4 address", async () => {
    const address = uniqueIpv4();
    await failLogins(5, uniqueEmail, address);
    expect((await login(uniqueEmail(), WRONG_PASSWORD, `::ffff:${address}`)).status).toBe(429);
  });

  it("count every value that is not an address under one shared key", async () => {
    await failLogins(5, uniqueEmail, "not-an-address");
    for (const value of ["999.1.1.1", "1.2.3", "2001:db8::1::2", "2001:db8:0:0:0:0:0:0:1", "::ffff:1.2.3.256", "fe80::1%eth0", "[2001:db8::1]"]) {
      expect((await login(uniqueEmail(), WRONG_PASSWORD, value)).status).toBe(429);
    }
  });

  it("apply to registrations too: two addresses of one /64 share its 10 registrations an hour", async () => {
    const address = uniqueAddress();
    const neighbour = address.replace(/::1$/, "::2");
    for (let i = 0; i < 10; i++) expect((await register(uniqueEmail(), PASSWORD, i % 2 ? address : neighbour)).status).toBe(201);
    expect((await register(uniqueEmail(), PASSWORD, neighbour)).status).toBe(429);
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
    expect((await register(uniqueEmail(), PASSWORD, other)).status).toBe(201);
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
