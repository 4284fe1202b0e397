import { isIPv4, isIPv6 } from 'node:net';
import { invalidInput } from '../../core/errors.ts';

/** An address range: the address as 4 (IPv4) or 16 (IPv6) bytes and a prefix length in bits. */
export interface Cidr {
  bytes: Uint8Array;
  prefix: number;
}

/** IPv4 ranges no sandbox may reach, with the word used in refusal reasons. */
const FORBIDDEN_V4: ReadonlyArray<[string, string]> = [
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'shared (CGNAT)'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local (cloud metadata)'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'],
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', 'reserved'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
];

/** IPv6 ranges no sandbox may reach (IPv6 forms that embed an IPv4 address are checked apart). */
const FORBIDDEN_V6: ReadonlyArray<[string, string]> = [
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['::/96', 'reserved (IPv4-compatible)'],
  ['100::/64', 'discard'],
  ['2001:db8::/32', 'documentation'],
  ['fc00::/7', 'private (unique local)'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'site-local'],
  ['ff00::/8', 'multicast'],
];

const FORBIDDEN = [...FORBIDDEN_V4, ...FORBIDDEN_V6].map(([range, kind]) => ({
  cidr: parseCidr(range),
  kind,
}));

/** IPv6 prefixes whose last (or, for 6to4, bits 16..48) 32 bits are an IPv4 address. */
const EMBEDS_V4: ReadonlyArray<{ cidr: Cidr; offset: number }> = [
  { cidr: parseCidr('::ffff:0:0/96'), offset: 12 }, // IPv4-mapped
  { cidr: parseCidr('64:ff9b::/96'), offset: 12 }, // NAT64
  { cidr: parseCidr('64:ff9b:1::/48'), offset: 12 }, // local NAT64
  { cidr: parseCidr('2002::/16'), offset: 2 }, // 6to4
];

/** The bytes of an IPv4 or IPv6 address in canonical text form, or undefined for anything else. */
export function parseIp(text: string): Uint8Array | undefined {
  const address = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (isIPv4(address)) return Uint8Array.from(address.split('.').map(Number));
  if (!isIPv6(address)) return undefined;
  const bare = address.split('%')[0]!; // a zone id (fe80::1%eth0) names an interface, not an address
  const [head = '', tail] = bare.split('::');
  const words = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const v4 = piece.split('.').map(Number);
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        out.push(Number.parseInt(piece, 16));
      }
    }
    return out;
  };
  const first = words(head);
  const last = tail === undefined ? [] : words(tail);
  const all = [...first, ...new Array<number>(8 - first.length - last.length).fill(0), ...last];
  const bytes = new Uint8Array(16);
  all.forEach((word, i) => {
    bytes[i * 2] = word >> 8;
    bytes[i * 2 + 1] = word & 0xff;
  });
  return bytes;
}

/**
 * Parses `10.0.0.0/8`, `fc00::/7` or a single address (a full-length prefix).
 * Throws INVALID_INPUT for anything else.
 */
export function parseCidr(text: string): Cidr {
  const [address = '', prefixText] = text.split('/');
  const bytes = parseIp(address);
  if (!bytes) throw invalidInput(`${text} is not an IP address or CIDR range`, 'write it as 10.0.0.0/8');
  const max = bytes.length * 8;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || prefixText === '') {
    throw invalidInput(`${text} has an invalid prefix length`, `use 0 to ${max}`);
  }
  return { bytes, prefix };
}

/** Whether the address bytes fall in the range (both of the same family). */
export function inCidr(bytes: Uint8Array, cidr: Cidr): boolean {
  if (bytes.length !== cidr.bytes.length) return false;
  for (let bit = 0; bit < cidr.prefix; bit += 8) {
    const take = Math.min(8, cidr.prefix - bit);
    const mask = (0xff << (8 - take)) & 0xff;
    const i = bit / 8;
    if ((bytes[i]! & mask) !== (cidr.bytes[i]! & mask)) return false;
  }
  return true;
}

/**
 * Why a sandbox may not connect to `address` ("loopback", "private", "link-local (cloud
 * metadata)", ...), or undefined when it is a public unicast address. IPv6 forms that carry an
 * IPv4 address (mapped `::ffff:127.0.0.1`, NAT64, 6to4) are judged by that IPv4 address too.
 * Text that is not an IP address is refused as "not an IP address".
 */
export function forbiddenReason(address: string): string | undefined {
  const bytes = parseIp(address);
  if (!bytes) return 'not an IP address';
  for (const { cidr, kind } of FORBIDDEN) if (inCidr(bytes, cidr)) return kind;
  if (bytes.length === 16) {
    for (const { cidr, offset } of EMBEDS_V4) {
      if (!inCidr(bytes, cidr)) continue;
      const v4 = bytes.slice(offset, offset + 4);
      for (const { cidr: range, kind } of FORBIDDEN) if (inCidr(v4, range)) return `${kind} (embedded IPv4)`;
    }
  }
  return undefined;
}

/** Whether `address` lies in any of the ranges. */
export function inAnyCidr(address: string, ranges: readonly Cidr[]): boolean {
  const bytes = parseIp(address);
  return bytes !== undefined && ranges.some((range) => inCidr(bytes, range));
}
