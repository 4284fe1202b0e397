import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { NightshiftError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { ApiToken, Store } from '../store/index.ts';
import type { Scope } from './schema.ts';

/** A token is `<id>.<secret>`: the id finds the row, the secret is compared by hash. */
const TOKEN_PATTERN = /^(tok_[0-9a-z]{20})\.([A-Za-z0-9_-]{43})$/;

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Creates a token; the returned `secret` (the whole token) is shown once and never stored. */
export async function createToken(
  store: Store,
  request: { name: string; scopes: Scope[]; createdBy?: string | null },
): Promise<{ token: string; record: ApiToken }> {
  const id = newId('tok');
  const secret = randomBytes(32).toString('base64url');
  try {
    const record = await store.tokens.insert({
      id,
      name: request.name,
      scopes: [...new Set(request.scopes)],
      secretHash: sha256(secret).toString('hex'),
      createdBy: request.createdBy ?? null,
    });
    return { token: `${id}.${secret}`, record };
  } catch (error) {
    if (/api_tokens_active_name_idx|duplicate key/.test(String(error))) {
      throw new NightshiftError('CONFLICT', `a token named ${request.name} already exists`, {
        hint: 'pick another name, or revoke the old one with `nightshift token revoke NAME`',
      });
    }
    throw error;
  }
}

/**
 * The active token a bearer string stands for, or null. The secret's hash is compared in
 * constant time (both sides are sha256 digests, so their lengths never differ).
 */
export async function verifyToken(store: Store, bearer: string): Promise<ApiToken | null> {
  const match = TOKEN_PATTERN.exec(bearer);
  if (!match) return null;
  const found = await store.tokens.active(match[1]!);
  // Compare against a dummy when there is no such token, so a missing id costs the same work.
  const expected = found ? Buffer.from(found.secretHash, 'hex') : sha256('no such token');
  const ok = timingSafeEqual(sha256(match[2]!), expected) && found !== null;
  return ok ? found.token : null;
}

/** Scopes that include others: who may change runs may read them. */
const IMPLIED: Partial<Record<Scope, Scope[]>> = { 'runs:write': ['runs:read'] };

/** Whether a token with `scopes` may do what `needed` allows. */
export function allows(scopes: readonly string[], needed: Scope): boolean {
  if (scopes.includes('admin') || scopes.includes(needed)) return true;
  return scopes.some((scope) => IMPLIED[scope as Scope]?.includes(needed) ?? false);
}
