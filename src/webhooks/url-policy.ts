// Where a webhook may point, checked when a webhook is created and again at every delivery
// (delivery.ts). A deployment delivers only over https, on port 443 or a port of 1024 and above,
// without credentials in the URL, and never to a host that names this machine (`localhost`) or to
// an IP literal in a special-purpose range of the IANA registries (SPECIAL_PURPOSE below). Host
// names are not resolved here (no DNS-over-HTTPS lookup): a name whose DNS points to a private
// address is left to Cloudflare's network, which does not connect to such addresses, so that
// delivery fails like any other, and redirects are never followed. Local development
// (WEBHOOKS_ALLOW_LOOPBACK, see README) also accepts http and https on 127.0.0.1, [::1] and
// localhost, for a receiver on the developer's machine.

/**
 * The address ranges no webhook may reach: the IANA IPv4 and IPv6 Special-Purpose Address
 * Registries (entries not globally reachable, and the deprecated ones), multicast, and the
 * deprecated site-local fec0::/10. IPv4 ranges are matched as their IPv4-mapped IPv6 form
 * (::ffff:a.b.c.d). A range with `embeds` holds an IPv4 address at that bit offset (NAT64, 6to4):
 * it is refused exactly when the IPv4 address it embeds is.
 */
const SPECIAL_PURPOSE: { range: string; name: string; embeds?: number }[] = [
  { range: "0.0.0.0/8", name: "this network" },
  { range: "10.0.0.0/8", name: "private use" },
  { range: "100.64.0.0/10", name: "shared address space (carrier-grade NAT)" },
  { range: "127.0.0.0/8", name: "loopback" },
  { range: "169.254.0.0/16", name: "link-local, including cloud metadata endpoints" },
  { range: "172.16.0.0/12", name: "private use" },
  { range: "192.0.0.0/24", name: "IETF protocol assignments" },
  { range: "192.0.2.0/24", name: "documentation (TEST-NET-1)" },
  { range: "192.88.99.0/24", name: "deprecated 6to4 relay anycast" },
  { range: "192.168.0.0/16", name: "private use" },
  { range: "198.18.0.0/15", name: "benchmarking" },
  { range: "198.51.100.0/24", name: "documentation (TEST-NET-2)" },
  { range: "203.0.113.0/24", name: "documentation (TEST-NET-3)" },
  { range: "224.0.0.0/4", name: "multicast" },
  { range: "240.0.0.0/4", name: "reserved, and the limited broadcast address" },
  { range: "::/128", name: "unspecified" },
  { range: "::1/128", name: "loopback" },
  { range: "::/96", name: "deprecated IPv4-compatible" },
  { range: "64:ff9b::/96", name: "NAT64 (IPv4/IPv6 translation)", embeds: 0 },
  { range: "64:ff9b:1::/48", name: "local-use IPv4/IPv6 translation" },
  { range: "100::/64", name: "discard-only" },
  { range: "100:0:0:1::/64", name: "dummy IPv6 prefix" },
  { range: "2001::/23", name: "IETF protocol assignments, including Teredo 2001::/32" },
  { range: "2001:db8::/32", name: "documentation" },
  { range: "2002::/16", name: "6to4", embeds: 80 },
  { range: "3fff::/20", name: "documentation" },
  { range: "5f00::/16", name: "segment routing (SRv6) SIDs" },
  { range: "fc00::/7", name: "unique local" },
  { range: "fe80::/10", name: "link-local" },
  { range: "fec0::/10", name: "deprecated site-local" },
  { range: "ff00::/8", name: "multicast" },
];

const MAPPED_IPV4 = 0xffffn << 32n;

/** A dotted IPv4 address as a number; undefined for anything else. The URL parser has already normalized forms like 0x7f.1. */
function ipv4Bits(text: string): bigint | undefined {
  const octets = text.split(".").map(Number);
  if (octets.length !== 4 || octets.some((octet) => !Number.isInteger(octet) || octet < 0 || octet > 255)) return undefined;
  return octets.reduce((bits, octet) => bits * 256n + BigInt(octet), 0n);
}

/** An IPv6 address in hex groups (as the URL parser writes it, compressed) as a number; undefined for anything else. */
function ipv6Bits(text: string): bigint | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = halves.map((half) => (half === "" ? [] : half.split(":")));
  const missing = 8 - groups.flat().length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  const all = halves.length === 2 ? [...groups[0], ...Array<string>(missing).fill("0"), ...groups[1]] : groups[0];
  if (all.some((group) => !/^[0-9a-f]{1,4}$/i.test(group))) return undefined;
  return all.reduce((bits, group) => (bits << 16n) | BigInt(parseInt(group, 16)), 0n);
}

/** An IP literal as it appears in a URL's host (IPv6 in brackets), as a 128-bit number (IPv4 as IPv4-mapped); undefined for a name. */
function addressOf(host: string): bigint | undefined {
  if (host.startsWith("[") && host.endsWith("]")) return ipv6Bits(host.slice(1, -1));
  const ipv4 = ipv4Bits(host);
  return ipv4 === undefined ? undefined : MAPPED_IPV4 | ipv4;
}

const RANGES = SPECIAL_PURPOSE.map(({ range, name, embeds }) => {
  const [first, length] = range.split("/");
  const ipv4 = !first.includes(":");
  const start = ipv4 ? MAPPED_IPV4 | ipv4Bits(first)! : ipv6Bits(first)!;
  return { start, size: 1n << BigInt((ipv4 ? 32 : 128) - Number(length)), name, embeds };
});

/** The special-purpose range that `address` is refused for, or undefined if it is a public unicast address. */
function refusedRange(address: bigint): string | undefined {
  for (const { start, size, name, embeds } of RANGES) {
    if (address < start || address >= start + size) continue;
    if (embeds === undefined) return name;
    const embedded = refusedRange(MAPPED_IPV4 | ((address >> BigInt(embeds)) & 0xffffffffn));
    return embedded === undefined ? undefined : `${name} of ${embedded}`;
  }
  return undefined;
}

const isLoopbackHost = (host: string) => host === "localhost" || host === "127.0.0.1" || host === "[::1]";

/** The lowest port a webhook may use besides 443 (https's default): below are the well-known services. */
export const LOWEST_PORT = 1024;

/** Why `url` may not receive webhooks here, or undefined if it may. */
export function refusalOf(url: URL, allowLoopback: boolean): string | undefined {
  const host = url.hostname.toLowerCase().replace(/\.$/, "");
  if (url.username || url.password) return "must not contain credentials";
  if (url.port !== "" && Number(url.port) < LOWEST_PORT) return `must use port 443 or a port from ${LOWEST_PORT} up`;
  if (allowLoopback && isLoopbackHost(host) && (url.protocol === "http:" || url.protocol === "https:")) return undefined;
  if (url.protocol !== "https:") return "must use https";
  if (host === "localhost" || host.endsWith(".localhost")) return "must not point to this machine";
  const range = addressOf(host) === undefined ? undefined : refusedRange(addressOf(host)!);
  return range === undefined ? undefined : `must not be a special-purpose address (${range})`;
}
