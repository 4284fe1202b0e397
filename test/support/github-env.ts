/** A Nightshift engine wired to the GitHub double, with the webhook routes served on 127.0.0.1. */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import pino from 'pino';
import type { HarnessRegistry } from '../../src/agents/registry.ts';
import { homePaths } from '../../src/core/home.ts';
import { engineConfig } from '../../src/engine/config.ts';
import { Engine } from '../../src/engine/engine.ts';
import { GithubScmProvider } from '../../src/scm/github/index.ts';
import type { GithubSettings } from '../../src/scm/github/settings.ts';
import { RoutingScmProvider } from '../../src/scm/index.ts';
import { LocalScmProvider } from '../../src/scm/local/index.ts';
import { createGithubTrigger, type GithubTrigger } from '../../src/triggers/github/index.ts';
import { type GithubDouble, startGithubServer } from './github-server.ts';
import { makeRepo, tempDir } from './repos.ts';

export interface GithubEnv {
  dir: string;
  github: GithubDouble;
  engine: Engine;
  provider: GithubScmProvider;
  trigger: GithubTrigger;
  settings: GithubSettings;
  /** `http://127.0.0.1:PORT/webhooks/github` */
  webhookUrl: string;
  /** Structured log lines of the engine and the trigger. */
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

export const SECRET = 'current-webhook-secret';
export const OLD_SECRET = 'previous-webhook-secret';

/** Repos (`OWNER/NAME` → files) are created on the double; `home` files (e.g. github.yml) in the Nightshift home. */
export async function startGithubEnv(options: {
  repos: Record<string, Record<string, string>>;
  harnesses?: HarnessRegistry;
  maxBodyBytes?: number;
}): Promise<GithubEnv> {
  const { dir, cleanup } = await tempDir();
  const github = await startGithubServer(join(dir, 'github'));
  for (const [fullName, files] of Object.entries(options.repos)) {
    const source = join(dir, 'sources', fullName);
    await makeRepo(source, files);
    await github.addRepo(fullName, source);
  }
  const home = join(dir, 'home');
  const paths = homePaths(home);
  const settings: GithubSettings = {
    auth: {
      kind: 'app',
      appId: github.appId,
      privateKey: github.privateKey,
      installationId: github.installationId,
    },
    apiUrl: github.apiUrl,
    gitUrl: github.gitUrl,
    webhookSecrets: [SECRET, OLD_SECRET],
    maxBodyBytes: options.maxBodyBytes,
    publicUrl: 'https://nightshift.test',
    botLogin: 'nightshift[bot]',
  };
  const provider = new GithubScmProvider({
    ...settings,
    mirrorsDir: paths.mirrors,
    basesDir: paths.bases,
    runUrl: (id) => `https://nightshift.test/runs/${id}`,
  });
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const config = { ...engineConfig(home, {}), github: settings, concurrency: 1, traceExecs: false };
  const engine = await Engine.open(
    config,
    {
      scm: new RoutingScmProvider(
        new LocalScmProvider({ mirrorsDir: paths.mirrors, basesDir: paths.bases }),
        provider,
      ),
      logger,
      harnesses: options.harnesses,
    },
    'test',
  );
  const trigger = createGithubTrigger(engine, { worker: { pollMs: 100 } });
  const app = new Hono().route('/webhooks/github', trigger.routes);
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    dir,
    github,
    engine,
    provider,
    trigger,
    settings,
    webhookUrl: `http://127.0.0.1:${port}/webhooks/github`,
    logs,
    async close() {
      await trigger.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await engine.close();
      await github.close();
      await cleanup();
    },
  };
}

/** Waits (polling) until `check` returns a value other than undefined/false; fails after `ms`. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false>,
  what: string,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
