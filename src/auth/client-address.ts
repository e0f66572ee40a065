// The key under which the login throttle counts a client address (CF-Connecting-IP). Counting the
// raw text would give one client a fresh counter for each way of writing its address.

/** The shared key of every value that is not an IP address: all of them together get one counter. */
export const UNKNOWN_ADDRESS = "unknown";

/**
 * The four numbers of a dotted-quad IPv4 address, each 1 to 3 decimal digits up to 255. Leading
 * zeros are read as decimal and ignored, never as octal (as inet_aton would): 198.018.117.237 is
 * 198.18.117.237, the address a reader sees.
 */
function ipv4Parts(text: string): number[] | undefined {
  const parts = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text)?.slice(1).map(Number);
  return parts?.every((part) => part <= 255) ? parts : undefined;
}

/** The eight 16-bit groups of an IPv6 address: `::` compression and a dotted-quad tail allowed; no zone. */
function ipv6Groups(text: string): number[] | undefined {
  const tail = /^(.*:)([^:]+\.[^:]+)$/.exec(text);
  if (tail) {
    const quad = ipv4Parts(tail[2]);
    if (!quad) return undefined;
    text = `${tail[1]}${((quad[0] << 8) | quad[1]).toString(16)}:${((quad[2] << 8) | quad[3]).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const [head, rest] = halves.map((half) => (half === "" ? [] : half.split(":")));
  const given = [...head, ...(rest ?? [])];
  if (!given.every((group) => /^[0-9a-f]{1,4}$/i.test(group))) return undefined;
  const omitted = 8 - given.length;
  if (rest === undefined ? omitted !== 0 : omitted < 1) return undefined;
  return [...head, ...Array<string>(rest === undefined ? 0 : omitted).fill("0"), ...(rest ?? [])].map((group) => parseInt(group, 16));
}

/**
 * An IPv4 address in canonical dotted-quad form; an IPv6 address by its /64 prefix, because one
 * subscriber usually holds a whole /64 (so each of its 2^64 addresses is the same client); an
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d) as its IPv4 address; anything else UNKNOWN_ADDRESS.
 */
export function addressKey(address: string): string {
  const quad = ipv4Parts(address);
  if (quad) return quad.join(".");
  const groups = ipv6Groups(address);
  if (!groups) return UNKNOWN_ADDRESS;
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return [groups[6] >> 8, groups[6] & 255, groups[7] >> 8, groups[7] & 255].join(".");
  }
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(":")}::/64`;
}
