import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Checks a GitHub `X-Hub-Signature-256` header (`sha256=<hex>`) against the raw body with each
 * secret (several during a rotation). Comparisons are constant-time; any malformed header fails.
 *
 * @example verifySignature(rawBody, req.header('x-hub-signature-256'), ['new', 'old'])
 */
export function verifySignature(
  body: Uint8Array,
  header: string | undefined,
  secrets: readonly string[],
): boolean {
  if (!header?.startsWith('sha256=')) return false;
  const hex = header.slice('sha256='.length);
  if (!/^[0-9a-f]{64}$/i.test(hex)) return false;
  const given = Buffer.from(hex, 'hex');
  let ok = false;
  for (const secret of secrets) {
    if (secret === '') continue;
    const expected = createHmac('sha256', secret).update(body).digest();
    // Every secret is tried, so the time taken does not say which one matched.
    if (timingSafeEqual(expected, given)) ok = true;
  }
  return ok;
}

/** The `X-Hub-Signature-256` value GitHub would send for `body` signed with `secret`. */
export function signBody(body: Uint8Array | string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
