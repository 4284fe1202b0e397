import { existsSync } from 'node:fs';
import { sleep } from '../core/clock.ts';
import { NightshiftError } from '../core/errors.ts';
import { homePaths, resolveHome } from '../core/home.ts';
import { Engine, type EngineParts, engineConfig } from '../engine/index.ts';
import { type LocalApi, serveLocalApi } from '../server/local-api.ts';
import { type Client, embeddedClient } from './client.ts';
import { remoteClient } from './remote-client.ts';

export interface GlobalOptions {
  home?: string;
  json?: boolean;
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
 * the home's socket meanwhile so other commands can reach it), else the process that owns it.
 * With `worker`, this process also executes queued runs.
 */
export async function openClient(
  options: GlobalOptions,
  use: { worker: boolean; command: string },
): Promise<Client> {
  const config = engineConfig(options.home ?? resolveHome());
  const paths = homePaths(config.home);
  let engine: Engine;
  const deadline = Date.now() + OWNER_WAIT_MS;
  for (;;) {
    try {
      engine = await Engine.open(config, engineParts, use.command);
      break;
    } catch (error) {
      if (!(error instanceof NightshiftError && error.code === 'HOME_LOCKED')) throw error;
      // The owner may be starting (no socket yet) or finishing (socket gone): try again until one works.
      if (existsSync(paths.socket)) {
        const remote = remoteClient(paths.socket);
        if (await remote.ping()) return remote;
      }
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
  let server: LocalApi | null = null;
  try {
    if (engine.store.db.kind === 'pglite') server = await serveLocalApi(engine, paths.socket);
    if (use.worker) await engine.startWorker();
  } catch (error) {
    await server?.close();
    await engine.close();
    throw error;
  }
  const client = embeddedClient(engine);
  return {
    ...client,
    async close() {
      await server?.close();
      await client.close();
    },
  };
}
