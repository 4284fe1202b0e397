import { isIP } from 'node:net';

/** Where a request wants to go, with the host in one canonical form. */
export interface EgressTarget {
  /** Lower-case name without a trailing dot, or a canonical IP address (IPv6 without brackets). */
  host: string;
  port: number;
  /** True when the host is an IP address (decimal, octal and hex spellings included). */
  isIp: boolean;
}

/** The request target of `GET http://host:port/path`, with the origin-form path to forward. */
export interface HttpTarget extends EgressTarget {
  path: string;
  /** The Host header the upstream gets: the URI's authority, never the client's Host header. */
  hostHeader: string;
}

const AUTHORITY = /^(\[[0-9A-Fa-f:.]+\]|[^\s/?#@[\]:\\]+):(\d{1,5})$/;

/**
 * Canonicalizes a host as a browser would (WHATWG URL host parsing): `2130706433`,
 * `0x7f.0.0.1`, `127.1` and `%31%32%37.0.0.1` all become `127.0.0.1`, so number tricks cannot
 * slip an IP address past the checks as a "name". Undefined when the host is invalid.
 */
export function canonicalHost(raw: string): { host: string; isIp: boolean } | undefined {
  let hostname: string;
  try {
    hostname = new URL(`http://${raw}/`).hostname;
  } catch {
    return undefined;
  }
  if (hostname.startsWith('[')) return { host: hostname.slice(1, -1), isIp: true };
  const host = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  if (host === '') return undefined;
  return { host, isIp: isIP(host) !== 0 };
}

function validPort(text: string): number | undefined {
  const port = Number(text);
  return Number.isInteger(port) && port >= 1 && port <= 65_535 ? port : undefined;
}

/** Parses a CONNECT request target (`host:port`, `[v6]:port`); undefined when malformed. */
export function parseConnectTarget(target: string): EgressTarget | undefined {
  const match = AUTHORITY.exec(target);
  if (!match) return undefined;
  const port = validPort(match[2]!);
  const host = canonicalHost(match[1]!);
  if (port === undefined || !host) return undefined;
  return { ...host, port };
}

/**
 * Parses an absolute-form request target (`http://host[:port]/path?query`). Only `http:` is
 * forwarded: HTTPS goes through CONNECT. Undefined for anything else (origin-form `/path`
 * included, which a forward proxy cannot route).
 */
export function parseHttpTarget(target: string): HttpTarget | undefined {
  if (!/^http:\/\/[^/?#\\]/i.test(target)) return undefined;
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return undefined;
  }
  const host = canonicalHost(url.hostname);
  const port = url.port === '' ? 80 : validPort(url.port);
  if (!host || port === undefined) return undefined;
  const bracketed = host.host.includes(':') ? `[${host.host}]` : host.host;
  return {
    ...host,
    port,
    path: `${url.pathname}${url.search}`,
    hostHeader: port === 80 ? bracketed : `${bracketed}:${port}`,
  };
}
