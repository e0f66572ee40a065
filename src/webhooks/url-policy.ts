// Where a webhook may point. A deployment delivers only over https, and never to an address that
// names this machine or a private network: the host may be neither `localhost` nor an IP literal
// in a loopback, private, shared, link-local, multicast or reserved range. Host names are not
// resolved here (no DNS-over-HTTPS lookup): a name whose DNS points to a private address is left to
// Cloudflare's network, which does not connect to such addresses, so that delivery fails like any
// other, and redirects are never followed (delivery.ts). Local development (WEBHOOKS_ALLOW_LOOPBACK,
// see README) also accepts http and https on 127.0.0.1, [::1] and localhost, for a receiver on
// the developer's machine.

/** IPv4 ranges no webhook may reach, as [first address, prefix length]. */
const REFUSED_IPV4: [string, number][] = [
  ["0.0.0.0", 8], // "this network"
  ["10.0.0.0", 8], // private
  ["100.64.0.0", 10], // shared (carrier-grade NAT)
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local, including cloud metadata endpoints
  ["172.16.0.0", 12], // private
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.168.0.0", 16], // private
  ["198.18.0.0", 15], // benchmarking
  ["224.0.0.0", 3], // multicast and reserved, up to 255.255.255.255
];

/** A dotted IPv4 address as a number; undefined for anything else. The URL parser has already normalized forms like 0x7f.1. */
function ipv4Bits(host: string): number | undefined {
  const octets = host.split(".").map(Number);
  if (octets.length !== 4 || octets.some((octet) => !Number.isInteger(octet) || octet < 0 || octet > 255)) return undefined;
  return octets.reduce((bits, octet) => bits * 256 + octet, 0);
}

const isRefusedIpv4 = (bits: number) =>
  REFUSED_IPV4.some(([first, prefix]) => {
    const start = ipv4Bits(first)!;
    return bits >= start && bits < start + 2 ** (32 - prefix);
  });

/** An IPv6 literal (the URL parser writes it compressed, in lower case) that is not a public unicast address. */
function isRefusedIpv6(host: string): boolean {
  const address = host.slice(1, -1);
  // An IPv4 address mapped into IPv6, which the URL parser writes as ::ffff:7f00:1.
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(address);
  if (mapped) return isRefusedIpv4(parseInt(mapped[1], 16) * 65536 + parseInt(mapped[2], 16));
  const first = parseInt(address.split(":")[0] || "0", 16);
  // ::, ::1 and other addresses starting with zeros; fc00::/7 unique local; fe80::/10 link-local; ff00::/8 multicast.
  return first === 0 || (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00;
}

const isLoopbackHost = (host: string) => host === "localhost" || host === "127.0.0.1" || host === "[::1]";

/** Why `url` may not receive webhooks here, or undefined if it may. */
export function refusalOf(url: URL, allowLoopback: boolean): string | undefined {
  const host = url.hostname.toLowerCase().replace(/\.$/, "");
  if (allowLoopback && isLoopbackHost(host) && (url.protocol === "http:" || url.protocol === "https:")) return undefined;
  if (url.protocol !== "https:") return "must use https";
  if (url.username || url.password) return "must not contain credentials";
  if (host === "localhost" || host.endsWith(".localhost")) return "must not point to this machine";
  const ipv4 = ipv4Bits(host);
  if ((ipv4 !== undefined && isRefusedIpv4(ipv4)) || (host.startsWith("[") && isRefusedIpv6(host))) {
    return "must not be a loopback, private, link-local or reserved address";
  }
  return undefined;
}
