import ipaddr from 'ipaddr.js';

/** An address as ipaddr.js parsed it: IPv4-mapped IPv6 already unwrapped to IPv4, no zone id. */
export type ParsedIp = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * The canonical text of an IP address, or `null` when `value` is not one. Never throws.
 *
 * - IPv4 must be four decimal parts. The legacy forms that `inet_aton` and ipaddr.js also accept
 *   (`127.1`, `0x7f.0.0.1`, `010.0.0.1`, which is octal for 8.0.0.1) are rejected: two services that
 *   read such a string differently would disagree about who a client is.
 * - IPv6 becomes its RFC 5952 form (lowercase, longest zero run compressed), and an IPv4-mapped
 *   address (`::ffff:203.0.113.7`, as a dual-stack socket reports IPv4 peers) becomes the IPv4
 *   address, so one client has one spelling.
 * - A zone id (`fe80::1%eth0`) is dropped: it names an interface of the machine that saw the
 *   packet, not a property of the client.
 *
 * @example
 * normalizeIp('2001:DB8:0:0:0:0:0:1') // '2001:db8::1'
 * normalizeIp('::ffff:203.0.113.7')   // '203.0.113.7'
 * normalizeIp('fe80::1%eth0')         // 'fe80::1'
 * normalizeIp('127.1')                // null
 */
export function normalizeIp(value: unknown): string | null {
  const ip = parseIp(value);
  return ip === null ? null : formatIp(ip);
}

/** Like {@link normalizeIp}, but returns the parsed address (for CIDR matching and truncation). */
export function parseIp(value: unknown): ParsedIp | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ADDRESS_LENGTH) return null;
  if (!value.includes(':')) {
    if (!FOUR_PART_DECIMAL.test(value)) return null;
    try {
      return ipaddr.IPv4.parse(value); // rejects parts above 255
    } catch {
      return null;
    }
  }
  let text = value;
  const zone = text.indexOf('%');
  if (zone !== -1) {
    if (!ZONE_ID.test(text.slice(zone + 1))) return null;
    text = text.slice(0, zone);
  }
  let ip: ipaddr.IPv6;
  try {
    ip = ipaddr.IPv6.parse(text);
  } catch {
    return null;
  }
  return ip.isIPv4MappedAddress() ? ip.toIPv4Address() : ip;
}

/** The canonical text of a parsed address: dotted quad, or RFC 5952 IPv6. */
export function formatIp(ip: ParsedIp): string {
  return ip instanceof ipaddr.IPv4 ? ip.toString() : ip.toRFC5952String();
}

// --- internal ---

// The longest IPv6 text is 45 characters (with an embedded IPv4); the rest leaves room for a zone id.
// Checked first so that a hostile header entry never reaches the parser's regular expressions.
const MAX_ADDRESS_LENGTH = 100;
// The shape of ipaddr.IPv4.isValidFourPartDecimal, tested here without its second full parse: this
// runs for every hop of every request.
const FOUR_PART_DECIMAL = /^(?:0|[1-9]\d{0,2})(?:\.(?:0|[1-9]\d{0,2})){3}$/;
// RFC 4007 leaves zone ids implementation-defined; interface names and numbers use these characters.
const ZONE_ID = /^[0-9A-Za-z._~-]{1,50}$/;
