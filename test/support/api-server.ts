import { join } from 'node:path';
import { Engine, engineConfig } from '../../src/engine/index.ts';
import { type AppOptions, createApp } from '../../src/server/app.ts';
import { type Listening, listen } from '../../src/server/listen.ts';
import type { ServerParts } from '../../src/server/modules.ts';
import { type DatabaseKind, newPostgresDatabase } from './databases.ts';
import { tempDir } from './repos.ts';

/** A fetch Response whose JSON tests read freely. */
// biome-ignore lint/suspicious/noExplicitAny: test assertions read any field
export type ApiResponse = Omit<Response, 'json'> & { json(): Promise<any> };

/** A real engine (no worker) and the API on 127.0.0.1:0, for one test file. */
export interface TestApi {
  engine: Engine;
  /** The Hono app being served (its `routes` list every route, the modules' included). */
  app: ReturnType<typeof createApp>;
  url: string;
  dir: string;
  /** A request to the API with an optional bearer token. */
  fetch(path: string, init?: RequestInit & { token?: string }): Promise<ApiResponse>;
  close(): Promise<void>;
}

export async function startTestApi(
  kind: DatabaseKind,
  options: Omit<AppOptions, 'engine' | 'auth' | 'closing'> & {
    /** The modules `serve` mounts (see `serverModules`), built on this engine and started. */
    parts?: (engine: Engine) => ServerParts;
    /** Environment the engine's configuration is read from (default: this process's). */
    env?: NodeJS.ProcessEnv;
  } = {},
): Promise<TestApi> {
  const { dir, cleanup } = await tempDir();
  const env = {
    ...(options.env ?? process.env),
    DATABASE_URL: kind === 'postgres' ? await newPostgresDatabase() : '',
  };
  const engine = await Engine.open(engineConfig(join(dir, 'home'), env));
  const closing = new AbortController();
  let listening: Listening;
  let app: ReturnType<typeof createApp>;
  const { parts: makeParts, env: _env, ...appOptions } = options;
  const parts = makeParts?.(engine);
  try {
    app = createApp({
      engine,
      auth: 'tokens',
      closing: closing.signal,
      heartbeatMs: 200,
      ...appOptions,
      modules: parts?.modules ?? appOptions.modules,
    });
    listening = await listen(app, { host: '127.0.0.1', port: 0 });
    await parts?.start();
  } catch (error) {
    await parts?.stop();
    await engine.close();
    await cleanup();
    throw error;
  }
  return {
    engine,
    app,
    url: listening.url,
    dir,
    fetch(path, init = {}) {
      const headers = new Headers(init.headers);
      if (init.token) headers.set('authorization', `Bearer ${init.token}`);
      return fetch(`${listening.url}${path}`, { ...init, headers });
    },
    async close() {
      closing.abort();
      await listening.close();
      await parts?.stop();
      await engine.close();
      await cleanup();
    },
  };
}
