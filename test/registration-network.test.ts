import { describe, expect, it } from "vitest";
import { networkKey, UNKNOWN_ADDRESS } from "../src/auth/client-address";
import { LIMITS } from "../src/auth/login-throttle";
import { statusCounts } from "./support/client";
import { PASSWORD, register, uniqueEmail } from "./support/users";

// The coarser registration limit (auth/login-throttle.ts, "registration-network"): besides 10 an
// hour per address (an IPv6 /64), 50 an hour per network, an IPv6 /48 or an IPv4 /24, so that one
// line's many /64s cannot make thousands of accounts an hour.

let networkCounter = 0;
/** A /48 of its own in the documentation range 2001:db8::/32 for each test, and the n-th /64 in it. */
const uniqueNetwork = () => {
  const site = `2001:db8:${(0x8000 + ++networkCounter).toString(16)}`;
  return (subnet: number) => `${site}:${subnet.toString(16)}::1`;
};

describe("the network of a client address", () => {
  it.each([
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1::/48"],
    ["2001:DB8:0001:00ff::1", "2001:db8:1::/48"],
    ["198.51.100.7", "198.51.100.0/24"],
    ["198.051.100.255", "198.51.100.0/24"],
    ["::ffff:198.51.100.7", "198.51.100.0/24"],
    ["not an address", UNKNOWN_ADDRESS],
  ])("%s is in %s", (address, network) => {
    expect(networkKey(address)).toBe(network);
  });
});

describe("registrations per network", () => {
  it("allow 50 an hour from one IPv6 /48, however many /64s they come from; the 51st is 429, another /48 is not", async () => {
    expect(LIMITS["registration-network"]).toEqual({ attempts: 50, windowSeconds: 3600 });
    const site = uniqueNetwork();
    // 10 /64s of one /56 (as one home line gets), each under its own limit of 10.
    const responses = [];
    for (let i = 0; i < 50; i++) responses.push(await register(uniqueEmail(), PASSWORD, site(i % 10)));
    expect(statusCounts(responses)).toEqual({ 201: 50 });
    const refused = await register(uniqueEmail(), PASSWORD, site(0xff));
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe("too_many_attempts");
    expect((await register(uniqueEmail(), PASSWORD, uniqueNetwork()(0))).status).toBe(201);
  });

  it("allow 50 an hour from one IPv4 /24, across its addresses", async () => {
    const responses = [];
    for (let i = 0; i < 50; i++) responses.push(await register(uniqueEmail(), PASSWORD, `203.0.113.${i % 10}`));
    expect(statusCounts(responses)).toEqual({ 201: 50 });
    expect((await register(uniqueEmail(), PASSWORD, "203.0.113.200")).status).toBe(429);
    expect((await register(uniqueEmail(), PASSWORD, "203.0.114.1")).status).toBe(201);
  });

  it("do not count a registration the address limit refused on the network", async () => {
    const site = uniqueNetwork();
    for (let i = 0; i < 10; i++) expect((await register(uniqueEmail(), PASSWORD, site(0))).status).toBe(201);
    for (let i = 0; i < 30; i++) expect((await register(uniqueEmail(), PASSWORD, site(0))).status).toBe(429);
    for (let i = 0; i < 40; i++) expect((await register(uniqueEmail(), PASSWORD, site(1 + (i % 4)))).status).toBe(201);
  });
});
