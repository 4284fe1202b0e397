import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startEgressProxy } from './server.ts';
import { allowEverything, allowlist, openConnect, rawRequest, startEcho, startUpstream } from './testing.ts';
import type { EgressDecision, EgressProxyOptions } from './types.ts';

let upstream: Awaited<ReturnType<typeof startUpstream>>;
let echo: Awaited<ReturnType<typeof startEcho>>;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  upstream = await startUpstream();
  echo = await startEcho();
});
afterAll(async () => {
  await upstream.close();
  await echo.close();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A proxy on 127.0.0.1:0 whose names resolve through `names`; collects its decisions. */
async function proxyWith(options: Partial<EgressProxyOptions> & { names?: Record<string, string[]> }) {
  const decisions: EgressDecision[] = [];
  const lookups: string[] = [];
  const names = options.names ?? {};
  const proxy = await startEgressProxy({
    port: 0,
    decide: allowlist([
      { host: 'allowed.test', ports: [80, 443, upstream.port, echo.port] },
      { host: '*.allowed.test', ports: [443] },
    ]),
    resolve: async (host) => {
      lookups.push(host);
      const addresses = names[host];
      if (!addresses) throw new Error(`getaddrinfo ENOTFOUND ${host}`);
      return addresses;
    },
    onDecision: (decision) => decisions.push(decision),
    ...options,
  });
  cleanups.push(() => proxy.close());
  return { port: proxy.port!, decisions, lookups };
}

/** Fills in the test servers' ports. */
function ports(target: string): string {
  return target.replace('UPSTREAM', String(upstream.port)).replace('ECHO', String(echo.port));
}

function status(response: string): number {
  return Number(response.split(' ')[1]);
}

describe('egress proxy refuses', () => {
  it('a domain that is not on the allowlist, over plain HTTP, without looking it up', async () => {
    const { port, decisions, lookups } = await proxyWith({ names: { 'evil.test': ['93.184.216.34'] } });

    const response = await rawRequest(port, 'GET http://evil.test/steal HTTP/1.1\r\nHost: evil.test\r\n\r\n');

    expect(status(response)).toBe(403);
    expect(response).toContain('evil.test is not on the allowlist');
    expect(lookups).toEqual([]);
    expect(decisions).toEqual([
      expect.objectContaining({ host: 'evil.test', port: 80, method: 'GET', allowed: false, status: 403 }),
    ]);
  });

  it('a domain that is not on the allowlist, over CONNECT', async () => {
    const { port, decisions, lookups } = await proxyWith({ names: { 'evil.test': ['93.184.216.34'] } });

    const { socket, head } = await openConnect(port, 'evil.test:443');
    socket.destroy();

    expect(head).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(head).toContain('evil.test is not on the allowlist');
    expect(lookups).toEqual([]);
    expect(decisions).toEqual([
      expect.objectContaining({
        host: 'evil.test',
        port: 443,
        method: 'CONNECT',
        allowed: false,
        status: 403,
      }),
    ]);
  });

  it.each([
    ['127.0.0.1', 'loopback'],
    ['10.0.0.5', 'private'],
    ['169.254.169.254', 'link-local (cloud metadata)'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback (embedded IPv4)'],
    ['64:ff9b::a9fe:a9fe', 'link-local (cloud metadata) (embedded IPv4)'],
  ])('an allowlisted name that resolves to %s (%s), over HTTP and CONNECT', async (address, kind) => {
    const { port, decisions } = await proxyWith({ names: { 'allowed.test': [address] } });

    const response = await rawRequest(
      port,
      'GET http://allowed.test/ HTTP/1.1\r\nHost: allowed.test\r\n\r\n',
    );
    const { socket, head } = await openConnect(port, 'allowed.test:443');
    socket.destroy();

    expect(status(response)).toBe(403);
    expect(response).toContain(`allowed.test resolves to ${address}, a ${kind} address`);
    expect(head).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(decisions).toEqual([
      expect.objectContaining({ host: 'allowed.test', method: 'GET', allowed: false, address, status: 403 }),
      expect.objectContaining({
        host: 'allowed.test',
        method: 'CONNECT',
        allowed: false,
        address,
        status: 403,
      }),
    ]);
  });

  it('a name when any one of its addresses is forbidden, even if the first is public', async () => {
    const { port, decisions } = await proxyWith({
      names: { 'allowed.test': ['93.184.216.34', '192.168.1.1'] },
    });

    const response = await rawRequest(
      port,
      'GET http://allowed.test/ HTTP/1.1\r\nHost: allowed.test\r\n\r\n',
    );

    expect(status(response)).toBe(403);
    expect(decisions[0]).toMatchObject({ allowed: false, address: '192.168.1.1' });
  });

  /** Sends `method` to `target` through the proxy (a proxied GET or a CONNECT) and returns its answer. */
  async function ask(port: number, method: string, target: string): Promise<string> {
    if (method === 'GET') {
      return rawRequest(port, `GET ${ports(target)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    }
    const { socket, head } = await openConnect(port, ports(target));
    socket.destroy();
    return head;
  }

  it.each([
    ['GET', 'http://127.0.0.1:UPSTREAM/', '127.0.0.1'],
    ['GET', 'http://[::1]/', '::1'],
    ['GET', 'http://169.254.169.254/latest/meta-data/', '169.254.169.254'],
    ['CONNECT', '169.254.169.254:80', '169.254.169.254'],
    ['CONNECT', '127.0.0.1:ECHO', '127.0.0.1'],
    ['CONNECT', '[::ffff:7f00:1]:22', '::ffff:7f00:1'],
  ])('%s to the IP literal %s, even when the policy allows every host', async (method, target, address) => {
    const { port, decisions, lookups } = await proxyWith({ decide: allowEverything });
    const before = upstream.seen.length + echo.connections();

    const answer = await ask(port, method, target);

    expect(status(answer)).toBe(403);
    expect(answer).toContain(`${address} is a`);
    expect(lookups).toEqual([]);
    expect(upstream.seen.length + echo.connections()).toBe(before);
    expect(decisions).toEqual([expect.objectContaining({ host: address, method, allowed: false, address })]);
  });

  it.each([
    ['GET', 'http://2130706433:UPSTREAM/'],
    ['GET', 'http://0x7f.0.0.1:UPSTREAM/'],
    ['GET', 'http://017700000001:UPSTREAM/'],
    ['GET', 'http://127.1:UPSTREAM/'],
    ['GET', 'http://%31%32%37.0.0.1:UPSTREAM/'],
    ['CONNECT', '2130706433:ECHO'],
    ['CONNECT', '0x7f000001:ECHO'],
  ])('%s to the number trick %s as the IP address it spells', async (method, target) => {
    const { port, decisions, lookups } = await proxyWith({ decide: allowEverything });
    const before = upstream.seen.length + echo.connections();

    const answer = await ask(port, method, target);

    expect(status(answer)).toBe(403);
    expect(answer).toContain('127.0.0.1 is a loopback address');
    expect(lookups).toEqual([]);
    expect(upstream.seen.length + echo.connections()).toBe(before);
    expect(decisions).toEqual([
      expect.objectContaining({ host: '127.0.0.1', allowed: false, address: '127.0.0.1', status: 403 }),
    ]);
  });

  it('a CONNECT to an allowed host on a port its rule does not allow', async () => {
    const { port, decisions, lookups } = await proxyWith({
      names: { 'api.allowed.test': ['93.184.216.34'] },
    });

    const { socket, head } = await openConnect(port, 'api.allowed.test:22');
    socket.destroy();

    expect(head).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(head).toContain('port 22 is not allowed for api.allowed.test');
    expect(lookups).toEqual([]);
    expect(decisions).toEqual([
      expect.objectContaining({
        host: 'api.allowed.test',
        port: 22,
        allowed: false,
        rule: '*.allowed.test:443',
      }),
    ]);
  });

  it('to route by a smuggled Host header: the URI host decides and the Host header is rewritten', async () => {
    const { port, decisions } = await proxyWith({
      names: { 'allowed.test': ['127.0.0.1'] },
      allowAddresses: ['127.0.0.1/32'],
    });

    const refused = await rawRequest(
      port,
      'GET http://evil.test/ HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n',
    );
    const forwarded = await rawRequest(
      port,
      `GET http://allowed.test:${upstream.port}/x HTTP/1.1\r\nHost: 169.254.169.254\r\nConnection: close\r\n\r\n`,
    );

    expect(status(refused)).toBe(403);
    expect(status(forwarded)).toBe(200);
    expect(upstream.seen.at(-1)).toMatchObject({
      url: '/x',
      headers: { host: `allowed.test:${upstream.port}` },
    });
    await vi.waitFor(() => expect(decisions).toHaveLength(2));
    expect(decisions[0]).toMatchObject({ host: 'evil.test', allowed: false });
    expect(decisions[1]).toMatchObject({ host: 'allowed.test', allowed: true, address: '127.0.0.1' });
  });

  it.each([
    'http://allowed.test@evil.test/',
    'http://allowed.test:UPSTREAM@evil.test/',
    'http://evil.test#@allowed.test/',
    'http://evil.test?@allowed.test/',
  ])('the userinfo/fragment trick %s: decided on the host the URI really names', async (target) => {
    const { port, decisions } = await proxyWith({
      names: { 'allowed.test': ['127.0.0.1'], 'evil.test': ['127.0.0.1'] },
      allowAddresses: ['127.0.0.1/32'],
    });
    const before = upstream.seen.length;

    const response = await rawRequest(port, `GET ${ports(target)} HTTP/1.1\r\nHost: allowed.test\r\n\r\n`);

    expect([400, 403]).toContain(status(response));
    expect(upstream.seen.length).toBe(before);
    expect(decisions).toEqual([expect.objectContaining({ allowed: false })]);
    if (status(response) === 403) expect(decisions[0]!.host).not.toBe('allowed.test');
  });

  it('a request with both Content-Length and Transfer-Encoding (smuggling), with 400', async () => {
    const { port, decisions } = await proxyWith({
      names: { 'allowed.test': ['127.0.0.1'] },
      allowAddresses: ['127.0.0.1/32'],
    });
    const before = upstream.seen.length;

    const response = await rawRequest(
      port,
      `POST http://allowed.test:${upstream.port}/ HTTP/1.1\r\nHost: allowed.test\r\nContent-Length: 44\r\n` +
        'Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET http://169.254.169.254/ HTTP/1.1\r\nHost: x\r\n\r\n',
    );

    expect(status(response)).toBe(400);
    expect(upstream.seen.length).toBe(before);
    expect(decisions).toEqual([expect.objectContaining({ allowed: false, status: 400 })]);
  });

  it('a request head larger than the limit, with 431', async () => {
    const { port, decisions } = await proxyWith({ maxHeaderBytes: 8 * 1024 });

    const response = await rawRequest(
      port,
      `GET http://allowed.test/ HTTP/1.1\r\nHost: allowed.test\r\nX-Fill: ${'a'.repeat(64 * 1024)}\r\n\r\n`,
    );

    expect(status(response)).toBe(431);
    expect(decisions).toEqual([
      expect.objectContaining({ allowed: false, status: 431, reason: 'request headers too large' }),
    ]);
  });

  it.each([
    ['an origin-form request', 'GET /admin HTTP/1.1\r\nHost: allowed.test\r\n\r\n'],
    ['an https:// absolute URI', 'GET https://allowed.test/ HTTP/1.1\r\nHost: allowed.test\r\n\r\n'],
    ['a file:// URI', 'GET file:///etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n'],
  ])('%s, with 400', async (_name, text) => {
    const { port, decisions } = await proxyWith({});

    const response = await rawRequest(port, text);

    expect(status(response)).toBe(400);
    expect(decisions).toEqual([expect.objectContaining({ allowed: false, status: 400 })]);
  });

  it.each(['allowed.test', 'allowed.test:99999', 'user@allowed.test:443', 'allowed.test:443/path'])(
    'a malformed CONNECT target %s, with 400',
    async (target) => {
      const { port, decisions, lookups } = await proxyWith({ names: { 'allowed.test': ['93.184.216.34'] } });

      const { socket, head } = await openConnect(port, target);
      socket.destroy();

      expect(head).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(lookups).toEqual([]);
      expect(decisions).toEqual([
        expect.objectContaining({ method: 'CONNECT', allowed: false, status: 400 }),
      ]);
    },
  );

  it('a DNS rebinding: the name is resolved once per request and the checked address is used', async () => {
    let answers = 0;
    const { port, decisions } = await proxyWith({
      allowAddresses: ['127.0.0.1/32'],
      resolve: async () => (answers++ === 0 ? ['127.0.0.1'] : ['169.254.169.254']),
    });

    const response = await rawRequest(
      port,
      `GET http://allowed.test:${upstream.port}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );

    expect(status(response)).toBe(200);
    expect(answers).toBe(1);
    await vi.waitFor(() => expect(decisions).toEqual([expect.objectContaining({ address: '127.0.0.1' })]));
  });

  it('to pass proxy credentials or hop-by-hop headers to the destination', async () => {
    const { port } = await proxyWith({
      names: { 'allowed.test': ['127.0.0.1'] },
      allowAddresses: ['127.0.0.1/32'],
    });

    await rawRequest(
      port,
      `GET http://allowed.test:${upstream.port}/ HTTP/1.1\r\nHost: allowed.test\r\n` +
        'Proxy-Authorization: Basic c2VjcmV0\r\nProxy-Connection: keep-alive\r\nX-Secret-Hop: 1\r\n' +
        'Connection: close, X-Secret-Hop\r\nX-Kept: yes\r\n\r\n',
    );

    const headers = upstream.seen.at(-1)!.headers;
    expect(headers['x-kept']).toBe('yes');
    expect(headers['proxy-authorization']).toBeUndefined();
    expect(headers['proxy-connection']).toBeUndefined();
    expect(headers['x-secret-hop']).toBeUndefined();
  });

  it('when the policy check throws (fails closed)', async () => {
    const { port, decisions } = await proxyWith({
      decide: () => {
        throw new Error('policy unavailable');
      },
    });

    const response = await rawRequest(port, 'GET http://allowed.test/ HTTP/1.1\r\nHost: x\r\n\r\n');

    expect(status(response)).toBe(403);
    expect(decisions).toEqual([expect.objectContaining({ allowed: false, status: 403 })]);
  });
});
