import { createPrivateKey, createSign, type KeyObject } from 'node:crypto';
import { NightshiftError } from '../../core/errors.ts';

/** How Nightshift authenticates to GitHub: a GitHub App (installation tokens) or a plain token. */
export type GithubAuth =
  | { kind: 'token'; token: string }
  | { kind: 'app'; appId: string; privateKey: string; installationId?: number };

function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

/**
 * A GitHub App JWT (RS256, valid 9 minutes, issued 60 s in the past for clock drift), as
 * `POST /app/installations/:id/access_tokens` expects it.
 */
export function appJwt(appId: string, privateKey: string | KeyObject, now = Date.now()): string {
  const iat = Math.floor(now / 1000) - 60;
  const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  const payload = base64url(JSON.stringify({ iat, exp: iat + 600, iss: appId }));
  const key = typeof privateKey === 'string' ? parseKey(privateKey) : privateKey;
  const signature = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(key);
  return `${header}.${payload}.${base64url(signature)}`;
}

function parseKey(pem: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (error) {
    throw new NightshiftError('INVALID_INPUT', 'the GitHub App private key is not a valid PEM key', {
      hint: 'set NIGHTSHIFT_GITHUB_PRIVATE_KEY_FILE to the .pem file GitHub generated for the app',
      cause: error,
    });
  }
}

/** Installation tokens by installation id, reused until a minute before they expire. */
export class InstallationTokens {
  private readonly cache = new Map<number, { token: string; expiresAt: number }>();
  private readonly pending = new Map<number, Promise<string>>();

  constructor(
    private readonly exchange: (installationId: number) => Promise<{ token: string; expiresAt: number }>,
  ) {}

  async get(installationId: number): Promise<string> {
    const cached = this.cache.get(installationId);
    if (cached && cached.expiresAt - 60_000 > Date.now()) return cached.token;
    let pending = this.pending.get(installationId);
    if (!pending) {
      pending = this.exchange(installationId).then((fresh) => {
        this.cache.set(installationId, fresh);
        return fresh.token;
      });
      this.pending.set(installationId, pending);
      pending.finally(() => this.pending.delete(installationId)).catch(() => {});
    }
    return pending;
  }
}
