// The keys under which the login throttle counts a client address (CF-Connecting-IP): the client
// itself (addressKey) and, for registrations, its network (networkKey). Counting the raw text
// would give one client a fresh counter for each way of writing its address.

/** The shared key of every value that is not an IP address: all of them together get one counter. */
export const UNKNOWN_ADDRESS = "unknown";

/**
 * The eight 16-bit groups of an IPv6 address (`::` and a dotted-quad tail allowed, no zone), read
 * by the URL parser, which also writes it in its canonical compressed form.
 */
function ipv6Groups(text: string): number[] | undefined {
  if (!/^[\da-f:.]+$/i.test(text)) return undefined;
  let host: string;
  try {
    host = new URL(`http://[${text}]`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
  const [head, tail] = host.split("::").map((part) => (part ? part.split(":").map((group) => parseInt(group, 16)) : []));
  return [...head, ...Array<number>(8 - head.length - (tail?.length ?? 0)).fill(0), ...(tail ?? [])];
}

/**
 * An IPv4 address in canonical dotted-quad form; an IPv6 address by its /64 prefix, because one
 * subscriber usually holds a whole /64 (so each of its 2^64 addresses is the same client); an
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d) as its IPv4 address; anything else UNKNOWN_ADDRESS.
 * Each part of a dotted quad is 1 to 3 decimal digits: leading zeros are ignored, never read as
 * octal (as inet_aton would), so 198.018.117.237 is 198.18.117.237, the address a reader sees.
 */
export function addressKey(address: string): string {
  const quad = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address)?.slice(1).map(Number);
  if (quad) return quad.every((part) => part <= 255) ? quad.join(".") : UNKNOWN_ADDRESS;
  const groups = ipv6Groups(address);
  if (!groups) return UNKNOWN_ADDRESS;
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return [groups[6] >> 8, groups[6] & 255, groups[7] >> 8, groups[7] & 255].join(".");
  }
  return `${groups.slice(0, 4).map((group) => group.toString(16)).join(":")}::/64`;
}

/**
 * The network of an address, for the coarser registration limit: an IPv4 address's /24, an IPv6
 * address's /48 (one home or office line is often given a /56 or a whole /48, that is 256 or
 * 65,536 /64s), an IPv4-mapped address's IPv4 /24; anything else UNKNOWN_ADDRESS.
 */
export function networkKey(address: string): string {
  const key = addressKey(address);
  if (key === UNKNOWN_ADDRESS) return key;
  if (key.endsWith("::/64")) return `${key.split(":").slice(0, 3).join(":")}::/48`;
  return `${key.split(".").slice(0, 3).join(".")}.0/24`;
}
