import { chmod, lstat, unlink } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { invalidInput } from '../../core/errors.ts';
import { handleRequest } from './handler.ts';
import { createUsageMeter } from './meter.ts';
import { DEFAULT_PRICES } from './prices.ts';
import type { ModelGateway, ModelGatewayOptions } from './types.ts';

export { costOf, DEFAULT_PRICES, priceOf } from './prices.ts';
export type {
  GatewayLogger,
  ModelBudget,
  ModelCall,
  ModelGateway,
  ModelGatewayOptions,
  ModelPrice,
  ProviderConfig,
  ProviderName,
  UsageTotals,
} from './types.ts';

const DEFAULT_MAX_REQUEST_BYTES = 32 * 1024 * 1024;

function validate(options: ModelGatewayOptions): void {
  const { anthropic, openai, openaiCompatible } = options.providers;
  if (!anthropic && !openai && !openaiCompatible) {
    throw invalidInput(
      'the model gateway has no provider',
      'configure providers.anthropic, providers.openai or providers.openaiCompatible',
    );
  }
  if (openai && openaiCompatible) {
    throw invalidInput(
      'providers.openai and providers.openaiCompatible both serve /v1/chat/completions and /v1/responses',
      'configure one of them (an OpenAI base URL goes in providers.openai.baseUrl)',
    );
  }
  if (anthropic && !anthropic.apiKey)
    throw invalidInput('providers.anthropic has no apiKey', 'set ANTHROPIC_API_KEY on the host');
  if (openai && !openai.apiKey)
    throw invalidInput('providers.openai has no apiKey', 'set OPENAI_API_KEY on the host');
  if (openaiCompatible && !openaiCompatible.baseUrl) {
    throw invalidInput(
      'providers.openaiCompatible has no baseUrl',
      'give the server URL ending in /v1, e.g. http://127.0.0.1:11434/v1',
    );
  }
  for (const [name, config] of Object.entries(options.providers)) {
    if (!config?.baseUrl) continue;
    let protocol = '';
    try {
      protocol = new URL(config.baseUrl).protocol;
    } catch {}
    if (protocol !== 'http:' && protocol !== 'https:') {
      throw invalidInput(`providers.${name}.baseUrl is not an http(s) URL: ${config.baseUrl}`);
    }
  }
  if (options.socketPath === undefined && options.port === undefined) {
    throw invalidInput('the model gateway needs a socketPath or a port to listen on');
  }
}

/** Removes a socket file left by a gateway that died; refuses to remove anything else. */
async function clearStaleSocket(path: string): Promise<void> {
  const stat = await lstat(path).catch(() => undefined);
  if (!stat) return;
  if (!stat.isSocket())
    throw invalidInput(`${path} exists and is not a socket`, 'choose a path in the run directory');
  await unlink(path);
}

function listen(server: Server, target: string | number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if (typeof target === 'string') server.listen(target, done);
    else server.listen(target, '127.0.0.1', done);
  });
}

/**
 * Starts the model gateway of one run: a plain-HTTP endpoint (on a Unix socket bind-mounted into
 * the sandbox, and/or on 127.0.0.1) that forwards model API calls to the configured providers
 * with the real key, meters tokens and cost from the responses (streams included), and refuses
 * calls with HTTP 429 once the run's budget is spent. See docs/model-gateway.md.
 *
 * @example
 * const gateway = await startModelGateway({
 *   providers: { anthropic: { apiKey: process.env.ANTHROPIC_API_KEY } },
 *   socketPath: join(runDir, 'model.sock'),
 *   budget: { costUsd: 5 },
 *   onUsage: (call) => audit.append('model.call', call),
 *   onBudgetExceeded: () => stopRun('budget_exceeded'),
 * });
 */
export async function startModelGateway(options: ModelGatewayOptions): Promise<ModelGateway> {
  validate(options);
  const meter = createUsageMeter(options);
  const context = {
    providers: options.providers,
    prices: { ...DEFAULT_PRICES, ...options.prices },
    maxRequestBytes: options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES,
    meter,
  };
  const servers: Server[] = [];
  function serve(): Server {
    const server = createServer((req, res) => {
      handleRequest(req, res, context).catch((error: unknown) => {
        options.logger?.warn({ error: String(error), path: req.url }, 'model gateway request failed');
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { message: 'the model gateway failed', type: 'server_error' } }));
        } else res.destroy();
      });
    });
    servers.push(server);
    return server;
  }

  const gateway: ModelGateway = {
    usage: () => meter.totals(),
    close: async () => {
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => resolve());
            }),
        ),
      );
      if (options.socketPath) await unlink(options.socketPath).catch(() => {});
    },
  };
  try {
    if (options.socketPath !== undefined) {
      await clearStaleSocket(options.socketPath);
      await listen(serve(), options.socketPath);
      await chmod(options.socketPath, options.socketMode ?? 0o666);
      gateway.socketPath = options.socketPath;
    }
    if (options.port !== undefined) {
      const server = serve();
      await listen(server, options.port);
      gateway.port = (server.address() as AddressInfo).port;
      gateway.url = `http://127.0.0.1:${gateway.port}`;
    }
  } catch (error) {
    await gateway.close();
    throw error;
  }
  return gateway;
}
