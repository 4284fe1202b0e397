import { describe, expect, it } from 'vitest';
import { canonicalHost, parseConnectTarget, parseHttpTarget } from './target.ts';

describe('request targets', () => {
  it.each([
    ['2130706433', '127.0.0.1', true],
    ['0x7f.0.0.1', '127.0.0.1', true],
    ['0177.0.0.1', '127.0.0.1', true],
    ['127.1', '127.0.0.1', true],
    ['%31%32%37.0.0.1', '127.0.0.1', true],
    ['[::ffff:127.0.0.1]', '::ffff:7f00:1', true],
    ['Example.COM.', 'example.com', false],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example', false],
  ])('canonicalizes %s to %s', (raw, host, isIp) => {
    expect(canonicalHost(raw)).toEqual({ host, isIp });
  });

  it('parses an absolute URI and builds the Host header from it', () => {
    expect(parseHttpTarget('http://Example.com:8080/a/b?c=d#frag')).toEqual({
      host: 'example.com',
      port: 8080,
      isIp: false,
      path: '/a/b?c=d',
      hostHeader: 'example.com:8080',
    });
    expect(parseHttpTarget('http://[::1]/')).toMatchObject({ host: '::1', port: 80, hostHeader: '[::1]' });
  });

  it.each(['/path', 'https://example.com/', 'ftp://example.com/', 'http://1.2.3.4.5/', 'http:///x'])(
    'does not route %s',
    (target) => {
      expect(parseHttpTarget(target)).toBeUndefined();
    },
  );

  it('parses CONNECT targets and refuses malformed ones', () => {
    expect(parseConnectTarget('api.example.com:443')).toEqual({
      host: 'api.example.com',
      port: 443,
      isIp: false,
    });
    expect(parseConnectTarget('[::1]:22')).toEqual({ host: '::1', port: 22, isIp: true });
    expect(parseConnectTarget('2130706433:80')).toEqual({ host: '127.0.0.1', port: 80, isIp: true });
    for (const bad of ['example.com', 'example.com:0', 'example.com:70000', 'a@b:443', 'b:443/x', ':443']) {
      expect(parseConnectTarget(bad)).toBeUndefined();
    }
  });
});
