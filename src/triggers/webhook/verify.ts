import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SecretRef } from '../../automations/schema.ts';

/** The header carrying `sha256=<hex>` of the raw body. */
export const SIGNATURE_HEADER = 'X-Nightshift-Signature-256';

/** Signs a body as senders must: `sha256=` + hex HMAC-SHA256 of the raw bytes. */
export function signBody(secret: string, body: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * True when `header` is a valid signature of `body` under any of `secrets` (rotation).
 * Compares in constant time; a malformed header never matches.
 */
export function verifySignature(body: Uint8Array, header: string | undefined, secrets: string[]): boolean {
  const match = /^sha256=([0-9a-f]{64})$/i.exec(header?.trim() ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1]!.toLowerCase(), 'hex');
  let ok = false;
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(body).digest();
    // Check every secret, so the time taken does not tell which one matched.
    if (timingSafeEqual(expected, given)) ok = true;
  }
  return ok;
}

/** The values of a hook's secrets that are set; unset ones are skipped (logged by the caller). */
export function resolveSecrets(refs: SecretRef[], env: NodeJS.ProcessEnv): string[] {
  return refs
    .map((ref) => ('env' in ref ? env[ref.env] : env[`NIGHTSHIFT_SECRET_${ref.secret}`]))
    .filter((value): value is string => typeof value === 'string' && value !== '');
}
