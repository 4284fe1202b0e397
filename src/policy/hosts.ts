import { isIP } from 'node:net';
import type { HostRule, Origin } from './types.ts';

/** A host rule before it knows where it came from. */
export type ParsedHostPattern = Omit<HostRule, 'from'>;

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/**
 * Parses a host pattern as policies write it: `api.github.com`, `*.npmjs.org`,
 * `registry.yarnpkg.com:443`, `10.1.2.3`, `[::1]:8080`. Host names are lower-cased and lose a
 * trailing dot. Returns a message saying what is wrong when it is not a valid pattern.
 *
 * @example parseHostPattern('*.NPMJS.org.:443')
 * // { pattern: '*.npmjs.org:443', host: 'npmjs.org', wildcard: true, ip: false, port: 443 }
 */
export function parseHostPattern(text: string): ParsedHostPattern | { error: string } {
  let rest = text.trim().toLowerCase();
  let port: number | null = null;
  let host: string;
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']');
    if (end < 0) return { error: 'an IPv6 address in brackets needs its closing `]`' };
    host = rest.slice(1, end);
    rest = rest.slice(end + 1);
    if (rest !== '' && !rest.startsWith(':')) return { error: 'expected `:port` after the IPv6 address' };
    if (isIP(host) !== 6) return { error: `${host} is not an IPv6 address` };
    if (rest) {
      const parsed = parsePort(rest.slice(1));
      if (typeof parsed === 'string') return { error: parsed };
      port = parsed;
    }
  } else {
    if (isIP(rest) === 6) return { error: 'write an IPv6 address in brackets, such as `[2001:db8::1]:443`' };
    const colon = rest.lastIndexOf(':');
    host = colon < 0 ? rest : rest.slice(0, colon);
    if (colon >= 0) {
      const parsed = parsePort(rest.slice(colon + 1));
      if (typeof parsed === 'string') return { error: parsed };
      port = parsed;
    }
  }
  const wildcard = host.startsWith('*.');
  if (wildcard) host = host.slice(2);
  if (host.endsWith('.')) host = host.slice(0, -1);
  const ip = isIP(host) !== 0;
  if (ip && wildcard) return { error: 'a `*.` wildcard cannot apply to an IP address' };
  if (!ip) {
    if (host.includes('*'))
      return { error: 'a wildcard is only allowed as a leading `*.`, such as `*.example.com`' };
    if (host === '' || host.length > 253 || !host.split('.').every((label) => LABEL.test(label)))
      return { error: `\`${text}\` is not a host name such as \`api.github.com\` or \`*.npmjs.org\`` };
    if (wildcard && !host.includes('.'))
      return { error: `\`*.${host}\` would match every name under a top-level domain; name a domain` };
  }
  const shown = ip && host.includes(':') ? `[${host}]` : `${wildcard ? '*.' : ''}${host}`;
  return { pattern: port === null ? shown : `${shown}:${port}`, host, wildcard, ip, port };
}

/** Builds a host rule from a pattern known to be valid (the built-in policy, tests). */
export function hostRule(text: string, from: Origin): HostRule {
  const parsed = parseHostPattern(text);
  if ('error' in parsed) throw new Error(`invalid host pattern ${text}: ${parsed.error}`);
  return { ...parsed, from };
}

function parsePort(text: string): number | string {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65_535)
    return `port \`${text}\` is not a number from 1 to 65535`;
  return port;
}

/**
 * Normalizes a host a connection asks for: lower case, no trailing dot, no IPv6 brackets.
 * Undefined when it is not a host name or IP address.
 */
export function normalizeHost(host: string): { host: string; ip: boolean } | undefined {
  let name = host.trim().toLowerCase();
  if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1);
  if (isIP(name) !== 0) return { host: name, ip: true };
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name === '' || name.length > 253 || !name.split('.').every((label) => LABEL.test(label)))
    return undefined;
  return { host: name, ip: false };
}

/**
 * Whether a rule matches a normalized host and port. `*.example.com` matches every sub-domain
 * (at any depth) but not `example.com`; name patterns never match IP addresses; a rule with a
 * port matches only that port.
 */
export function ruleMatches(
  rule: ParsedHostPattern,
  host: { host: string; ip: boolean },
  port: number | null,
) {
  if (rule.port !== null && rule.port !== port) return false;
  if (rule.ip !== host.ip) return false;
  if (rule.wildcard) return host.host.endsWith(`.${rule.host}`);
  return host.host === rule.host;
}

/** Whether everything `inner` matches is matched by `outer` (so `inner` narrows `outer`). */
export function ruleCovers(outer: ParsedHostPattern, inner: ParsedHostPattern): boolean {
  if (outer.port !== null && outer.port !== inner.port) return false;
  if (outer.ip !== inner.ip) return false;
  if (!outer.wildcard) return !inner.wildcard && inner.host === outer.host;
  return inner.host.endsWith(`.${outer.host}`) || (inner.wildcard && inner.host === outer.host);
}
