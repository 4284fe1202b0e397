import type { Command } from 'commander';
import { invalidInput } from '../../core/errors.ts';
import { createApp } from '../../server/app.ts';
import { type Listening, listen } from '../../server/listen.ts';
import { serverModules } from '../../server/modules.ts';
import { type GlobalOptions, openEngine, serveSocket } from '../context.ts';
import { print, printJson } from '../output.ts';

interface ServeOptions {
  host: string;
  port: string;
  workers: boolean;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the HTTP API (and execute runs) until SIGTERM or Ctrl-C')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'TCP port (0: any free port)', '7700')
    .option('--no-workers', 'only serve the API; `nightshift worker` processes execute the runs')
    .addHelpText(
      'after',
      '\nEvery route but /healthz, /readyz, /openapi.json and webhooks needs a token:\n  nightshift token create --name ci --scope runs:write',
    )
    .action(async (options: ServeOptions, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const port = Number(options.port);
      if (!Number.isInteger(port) || port < 0 || port > 65_535) {
        throw invalidInput(`--port ${options.port} is not a port number`, 'use 0 to 65535, e.g. 7700');
      }
      const engine = await openEngine(global, 'nightshift serve');
      const closing = new AbortController();
      const listeners: Listening[] = [];
      const parts = serverModules(engine);
      const stop = async () => {
        // Streams end first (clients reconnect elsewhere) and no run is claimed any more,
        // requests in flight are answered, then the worker gives its runs back to the queue and
        // the database closes.
        closing.abort();
        await Promise.all([...listeners.map((l) => l.close()), engine.stopClaiming()]);
        await parts.stop();
        await engine.close();
      };
      try {
        const app = createApp({
          engine,
          modules: parts.modules,
          auth: 'tokens',
          closing: closing.signal,
          workers: options.workers,
        });
        listeners.push(await listen(app, { host: options.host, port }));
        if (engine.store.db.kind === 'pglite') {
          listeners.push(await serveSocket(engine, closing.signal, options.workers));
        }
        if (options.workers) await engine.startWorker();
        await parts.start();
      } catch (error) {
        await stop();
        throw error;
      }
      const url = listeners[0]!.url;
      const tokens = await engine.store.tokens.list();
      engine.log.info({ url, workers: options.workers }, 'server listening');
      if (global.json) printJson({ url, port: listeners[0]!.port, workers: options.workers });
      else {
        print(`nightshift serving on ${url}${options.workers ? ' (executing runs)' : ' (no workers)'}`);
        if (tokens.length === 0)
          print(
            'no API tokens yet: create one with `nightshift token create --name NAME --scope runs:write`',
          );
      }
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      engine.log.info({ url }, 'server stopping');
      await stop();
    });
}
