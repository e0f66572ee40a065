import { describe, expect, it } from "vitest";
import { refusalOf } from "../src/webhooks/url-policy";

// The URL policy's address table (the IANA special-purpose registries), its ports, and the order of
// its checks. The same function runs when a webhook is created and at every delivery
// (test/webhook-redelivery.test.ts).

const deployment = (url: string) => refusalOf(new URL(url), false);
const development = (url: string) => refusalOf(new URL(url), true);

describe("addresses a deployment never delivers to (loopback off)", () => {
  it.each([
    ["https://[64:ff9b::7f00:1]/", "NAT64 (IPv4/IPv6 translation) of loopback"],
    ["https://[64:ff9b::a00:1]/", "NAT64 (IPv4/IPv6 translation) of private use"],
    ["https://[2002:a9fe:a9fe::]/", "6to4 of link-local, including cloud metadata endpoints"],
    ["https://[2002:7f00:1::1]/", "6to4 of loopback"],
    ["https://[2001::1]/", "IETF protocol assignments, including Teredo 2001::/32"],
    ["https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "IETF protocol assignments, including Teredo 2001::/32"],
    ["https://[fec0::1]/", "deprecated site-local"],
    ["https://[2001:db8::1]/", "documentation"],
    ["https://[3fff::1]/", "documentation"],
    ["https://192.0.2.1/", "documentation (TEST-NET-1)"],
    ["https://198.51.100.7/", "documentation (TEST-NET-2)"],
    ["https://203.0.113.255/", "documentation (TEST-NET-3)"],
    ["https://[100::1]/", "discard-only"],
    ["https://192.88.99.1/", "deprecated 6to4 relay anycast"],
    ["https://[::ffff:7f00:1]/", "loopback"],
    ["https://[::]/", "unspecified"],
    ["https://255.255.255.255/", "reserved, and the limited broadcast address"],
  ])("%s: %s", (url, range) => {
    expect(deployment(url)).toBe(`must not be a special-purpose address (${range})`);
  });

  it("lets through the public addresses that those forms embed, and other public unicast addresses", () => {
    for (const url of ["https://[64:ff9b::5db8:d822]/", "https://[2002:5db8:d822::1]/", "https://[2001:4860::8888]/", "https://[::ffff:5db8:d822]/", "https://192.88.100.1/"]) {
      expect(deployment(url)).toBeUndefined();
    }
  });
});

describe("ports", () => {
  it.each(["https://example.com:0/", "https://example.com:22/", "https://example.com:25/", "https://example.com:80/", "https://example.com:1023/"])(
    "refuses %s: well-known ports other than 443 are other services",
    (url) => {
      expect(deployment(url)).toBe("must use port 443 or a port from 1024 up");
    },
  );

  it("accepts https's own port 443 (written or not) and ports from 1024 up", () => {
    for (const url of ["https://example.com/", "https://example.com:443/", "https://example.com:1024/", "https://example.com:65535/"]) expect(deployment(url)).toBeUndefined();
  });
});

describe("the order of the checks", () => {
  it("refuses credentials before anything else, also on a loopback host in local development", () => {
    expect(development("https://example.com@127.0.0.1/")).toBe("must not contain credentials");
    expect(development("http://user:secret@localhost:8790/")).toBe("must not contain credentials");
  });

  it("applies the port rule in local development too", () => {
    expect(development("http://127.0.0.1:22/")).toBe("must use port 443 or a port from 1024 up");
    expect(development("http://127.0.0.1:8790/")).toBeUndefined();
  });
});
