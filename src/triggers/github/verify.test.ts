import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signBody, verifySignature } from './verify.ts';

const body = Buffer.from('{"action":"created"}');

describe('verifySignature', () => {
  it('accepts the signature GitHub computes with the secret', () => {
    const header = `sha256=${createHmac('sha256', 'topsecret').update(body).digest('hex')}`;

    expect(signBody(body, 'topsecret')).toBe(header);
    expect(verifySignature(body, header, ['topsecret'])).toBe(true);
  });

  it('accepts any of several secrets during a rotation', () => {
    expect(verifySignature(body, signBody(body, 'old'), ['new', 'old'])).toBe(true);
    expect(verifySignature(body, signBody(body, 'new'), ['new', 'old'])).toBe(true);
  });

  it.each([
    ['another secret', signBody(body, 'guess')],
    ['another body', signBody('{"action":"deleted"}', 'topsecret')],
    ['the SHA-1 header format', `sha1=${createHmac('sha1', 'topsecret').update(body).digest('hex')}`],
    ['a truncated digest', signBody(body, 'topsecret').slice(0, 40)],
    ['non-hex characters', `sha256=${'z'.repeat(64)}`],
    ['an empty header', ''],
    ['no header', undefined],
  ])('refuses %s', (_, header) => {
    expect(verifySignature(body, header, ['topsecret'])).toBe(false);
  });

  it('never matches with an empty secret list or an empty secret', () => {
    expect(verifySignature(body, signBody(body, ''), [''])).toBe(false);
    expect(verifySignature(body, signBody(body, 'x'), [])).toBe(false);
  });
});
