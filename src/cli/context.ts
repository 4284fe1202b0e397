import { existsSync } from 'node:fs';
import { sleep } from '../core/clock.ts';
import { NightshiftError } from '../core/errors.ts';
import { homePaths, resolveHome } from '../core/home.ts';
import { type LockOwner, lockOwner } from '../engine/home-lock.ts';
import { Engine, type EngineConfig, type EngineParts, engineConfig } from '../engine/index.ts';
import { createApp } from '../server/app.ts';
import { type Listening, listen } from '../server/listen.ts';
import { apiModules } from '../server/modules.ts';
import { type Client, embeddedClient } from './client.ts';
import { outlivingOwner } from './outliving-owner.ts';
import { remoteClient } from './remote-client.ts';

export interface GlobalOptions {
  home?: string;
  json?: boolean;
  /** A Nightshift server's URL (`--server`, `$NIGHTSHIFT_SERVER`): every command is its client. */
  server?: string;
  /** Its API token (`--token`, `$NIGHTSHIFT_TOKEN`). */
  token?: string;
}

/** How long a command waits for the process owning the home to answer on its socket. */
const OWNER_WAIT_MS = 15_000;

/** Parts the tests and the demo may supply (e.g. a harness registry). */
let engineParts: EngineParts = {};
export function setEngineParts(parts: EngineParts): void {
  engineParts = parts;
}

/**
 * Opens Nightshift for a command: the engine in this process when the home is free (serving
 * the home's socket meanwhile so other commands can reach it), else the process that owns it;
 * when that process stops first, the home is opened again (`outlivingOwner`). With `worker`,
 * this process also executes queued runs.
 */
export async function openClient(
  options: GlobalOptions,
  use: { worker: boolean; command: string },
): Promise<Client> {
  const server = options.server ?? process.env.NIGHTSHIFT_SERVER;
  if (server) return serverClient(server, options.token ?? process.env.NIGHTSHIFT_TOKEN);
  const open = () => openHome(engineConfig(options.home ?? resolveHome()), use);
  const client = await open();
  return client.mode === 'remote' ? outlivingOwner(client, open) : client;
}

/** The engine of the home in this process, or the client of the process that owns it. */
async function openHome(config: EngineConfig, use: { worker: boolean; command: string }): Promise<Client> {
  const paths = homePaths(config.home);
  let engine: Engine;
  let deadline = Date.now() + OWNER_WAIT_MS;
  let owner: LockOwner | null = null;
  for (;;) {
    try {
      engine = await Engine.open(config, engineParts, use.command);
      break;
    } catch (error) {
      if (!(error instanceof NightshiftError && error.code === 'HOME_LOCKED')) throw error;
      // The owner may be starting (no socket yet) or finishing (socket gone): try again until one works.
      if (existsSync(paths.socket)) {
        const remote = remoteClient({ socketPath: paths.socket });
        if (await remote.ping()) return remote;
      }
      // Short-lived owners taking turns (other commands) are progress: wait for each in full.
      const now = lockOwner(paths.lock);
      if (now && (now.pid !== owner?.pid || now.startTime !== owner.startTime)) {
        owner = now;
        deadline = Date.now() + OWNER_WAIT_MS;
      }
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
  let socket: Listening | null = null;
  const closing = new AbortController();
  try {
    if (engine.store.db.kind === 'pglite') socket = await serveSocket(engine, closing.signal, use.worker);
    if (use.worker) await engine.startWorker();
  } catch (error) {
    closing.abort();
    await socket?.close();
    await engine.close();
    throw error;
  }
  const client = embeddedClient(engine);
  return {
    ...client,
    async close() {
      // Streams end first (their clients reconnect), then requests in flight are answered.
      closing.abort();
      await socket?.close();
      await client.close();
    },
  };
}

/**
 * Whether no process executes the home's runs while this command runs: it holds the embedded
 * database itself (so no other process can) and runs no worker. A run shown as running then
 * was cut off when the process running it stopped.
 */
export function nobodyExecutes(client: Client, worker: boolean): boolean {
  return client.mode === 'embedded' && !worker && client.engine?.store.db.kind === 'pglite';
}

/** Opens the engine in this process (for `nightshift serve`), saying who owns the home if it is taken. */
export async function openEngine(options: GlobalOptions, command: string): Promise<Engine> {
  const config = engineConfig(options.home ?? resolveHome());
  return Engine.open(config, engineParts, command);
}

/**
 * Serves the API on the home's Unix socket for the other CLI processes. The socket is 0600,
 * so only this user reaches it, without a token.
 */
export function serveSocket(engine: Engine, closing: AbortSignal, workers: boolean): Promise<Listening> {
  const app = createApp({ engine, modules: apiModules(engine), auth: 'local', closing, workers });
  return listen(app, { socket: homePaths(engine.config.home).socket });
}

async function serverClient(url: string, token: string | undefined): Promise<Client> {
  if (!/^https?:\/\//.test(url)) {
    throw new NightshiftError('INVALID_INPUT', `--server ${url} is not an http(s) URL`, {
      hint: 'e.g. --server http://127.0.0.1:7700',
    });
  }
  return remoteClient({ baseUrl: url, token });
}
