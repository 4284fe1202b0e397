import { describe, expect, it } from 'vitest';
import { forbiddenReason, inAnyCidr, parseCidr } from './address.ts';

describe('forbidden addresses', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.1', 'private'],
    ['169.254.169.254', 'link-local (cloud metadata)'],
    ['100.64.0.1', 'shared (CGNAT)'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fd00::1', 'private (unique local)'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback (embedded IPv4)'],
    ['::ffff:7f00:1', 'loopback (embedded IPv4)'],
    ['::ffff:169.254.169.254', 'link-local (cloud metadata) (embedded IPv4)'],
    ['::127.0.0.1', 'reserved (IPv4-compatible)'],
    ['64:ff9b::10.0.0.1', 'private (embedded IPv4)'],
    ['2002:7f00:1::', 'loopback (embedded IPv4)'],
    ['[::1]', 'loopback'],
    ['localhost', 'not an IP address'],
  ])('refuses %s as %s', (address, kind) => {
    expect(forbiddenReason(address)).toBe(kind);
  });

  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8'])(
    'lets the public address %s through',
    (address) => {
      expect(forbiddenReason(address)).toBeUndefined();
    },
  );

  it('matches addresses against CIDR lists of both families', () => {
    const ranges = ['127.0.0.1/32', '10.0.0.0/8', 'fd00::/8'].map(parseCidr);

    expect(inAnyCidr('127.0.0.1', ranges)).toBe(true);
    expect(inAnyCidr('127.0.0.2', ranges)).toBe(false);
    expect(inAnyCidr('10.200.1.1', ranges)).toBe(true);
    expect(inAnyCidr('fd12::1', ranges)).toBe(true);
    expect(inAnyCidr('::1', ranges)).toBe(false);
  });

  it.each(['10.0.0.0/33', 'example.com/8', '10.0.0.0/', '::1/129'])('rejects the range %s', (text) => {
    expect(() => parseCidr(text)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });
});
