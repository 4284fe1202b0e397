import type { Context, MiddlewareHandler } from 'hono';
import { NightshiftError } from '../core/errors.ts';
import type { Store } from '../store/index.ts';
import type { AppEnv, Principal } from './router.ts';
import type { Scope } from './schema.ts';
import { allows, verifyToken } from './tokens.ts';

const LOCAL: Principal = { kind: 'local', name: 'local', scopes: ['admin'] };
const HINT =
  'send `Authorization: Bearer TOKEN`; create one with `nightshift token create --name NAME --scope SCOPE`';

/**
 * How callers prove who they are: `tokens` checks the bearer token of every request; `local`
 * trusts every caller, for the home's Unix socket, which only its owner can open (mode 0600).
 */
export function authenticator(
  store: Store,
  mode: 'tokens' | 'local',
): (c: Context<AppEnv>) => Promise<Principal> {
  if (mode === 'local') return async () => LOCAL;
  return async (c) => {
    const header = c.req.header('authorization');
    if (!header) {
      const inUrl = ['token', 'access_token'].some((name) => c.req.query(name) !== undefined);
      throw new NightshiftError(
        'UNAUTHORIZED',
        inUrl ? 'tokens in the URL are not accepted (URLs end up in logs)' : 'this route needs a token',
        { hint: HINT },
      );
    }
    const match = /^Bearer ([^\s]+)$/i.exec(header);
    const token = match ? await verifyToken(store, match[1]!) : null;
    if (!token)
      throw new NightshiftError('UNAUTHORIZED', 'the token is wrong, revoked or malformed', { hint: HINT });
    store.tokens.touch(token.id).catch(() => {});
    return { kind: 'token', name: token.name, scopes: token.scopes, token };
  };
}

/** Middleware for module routes that need a scope beyond a valid token. */
export function requireScope(scope: Scope): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.get('principal');
    if (!principal || !allows(principal.scopes, scope)) {
      throw new NightshiftError('FORBIDDEN', `token ${principal?.name ?? '?'} lacks the scope ${scope}`, {
        hint: `create a token with \`nightshift token create --name NAME --scope ${scope}\``,
      });
    }
    await next();
  };
}
