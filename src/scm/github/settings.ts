import { readFileSync } from 'node:fs';
import { NightshiftError } from '../../core/errors.ts';
import type { GithubAuth } from './auth.ts';

/** GitHub settings of a Nightshift server, from its environment (docs/configuration.md). */
export interface GithubSettings {
  auth: GithubAuth;
  apiUrl?: string;
  gitUrl?: string;
  webUrl?: string;
  /** Webhook secrets, newest first (`NIGHTSHIFT_GITHUB_WEBHOOK_SECRET`, comma-separated for a rotation). */
  webhookSecrets: string[];
  maxBodyBytes?: number;
  /** Where people reach the server, for links to runs (`NIGHTSHIFT_PUBLIC_URL`). */
  publicUrl?: string;
  /** The app's bot login (e.g. `nightshift[bot]`): its comments never trigger runs. */
  botLogin?: string;
}

/**
 * Reads `NIGHTSHIFT_GITHUB_*`: a GitHub App (`_APP_ID`, `_PRIVATE_KEY_FILE` or `_PRIVATE_KEY`,
 * optional `_INSTALLATION_ID`) or a plain `_TOKEN`. Undefined when neither is set.
 */
export function githubSettings(env: NodeJS.ProcessEnv = process.env): GithubSettings | undefined {
  const appId = env.NIGHTSHIFT_GITHUB_APP_ID;
  const token = env.NIGHTSHIFT_GITHUB_TOKEN;
  let auth: GithubAuth;
  if (appId) {
    const keyFile = env.NIGHTSHIFT_GITHUB_PRIVATE_KEY_FILE;
    const privateKey = keyFile ? readKey(keyFile) : env.NIGHTSHIFT_GITHUB_PRIVATE_KEY?.replace(/\\n/g, '\n');
    if (!privateKey) {
      throw new NightshiftError('INVALID_INPUT', 'NIGHTSHIFT_GITHUB_APP_ID is set without a private key', {
        hint: 'set NIGHTSHIFT_GITHUB_PRIVATE_KEY_FILE to the .pem file of the GitHub App',
      });
    }
    const installation = env.NIGHTSHIFT_GITHUB_INSTALLATION_ID;
    if (installation && !/^\d+$/.test(installation)) {
      throw new NightshiftError(
        'INVALID_INPUT',
        `NIGHTSHIFT_GITHUB_INSTALLATION_ID must be a number, got "${installation}"`,
      );
    }
    auth = {
      kind: 'app',
      appId,
      privateKey,
      installationId: installation ? Number(installation) : undefined,
    };
  } else if (token) {
    auth = { kind: 'token', token };
  } else {
    return undefined;
  }
  const maxBody = env.NIGHTSHIFT_GITHUB_MAX_BODY_BYTES;
  if (maxBody && !/^\d+$/.test(maxBody)) {
    throw new NightshiftError(
      'INVALID_INPUT',
      `NIGHTSHIFT_GITHUB_MAX_BODY_BYTES must be a number, got "${maxBody}"`,
    );
  }
  return {
    auth,
    apiUrl: env.NIGHTSHIFT_GITHUB_API_URL || undefined,
    gitUrl: env.NIGHTSHIFT_GITHUB_GIT_URL || undefined,
    webUrl: env.NIGHTSHIFT_GITHUB_WEB_URL || undefined,
    webhookSecrets: (env.NIGHTSHIFT_GITHUB_WEBHOOK_SECRET ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    maxBodyBytes: maxBody ? Number(maxBody) : undefined,
    publicUrl: env.NIGHTSHIFT_PUBLIC_URL?.replace(/\/+$/, '') || undefined,
    botLogin: env.NIGHTSHIFT_GITHUB_BOT_LOGIN || undefined,
  };
}

function readKey(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new NightshiftError('INVALID_INPUT', `cannot read the GitHub App private key ${file}`, {
      hint: 'check NIGHTSHIFT_GITHUB_PRIVATE_KEY_FILE',
      cause: error,
    });
  }
}
