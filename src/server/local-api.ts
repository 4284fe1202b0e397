import { chmodSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { auditRunId, exportAudit, verifyAudit } from '../audit/index.ts';
import { NightshiftError, toNightshiftError } from '../core/errors.ts';
import type { RunConclusion, RunStatus } from '../core/run.ts';
import type { Engine } from '../engine/index.ts';

const STATUS_BY_CODE: Record<string, number> = {
  INVALID_INPUT: 400,
  BLUEPRINT_INVALID: 400,
  BLUEPRINT_NOT_FOUND: 400,
  REPO_INVALID: 400,
  ENVIRONMENT_INVALID: 400,
  HARNESS_UNAVAILABLE: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
};

/** Longest a `wait=1` events request is held open before answering with no events. */
const LONG_POLL_MS = 20_000;

/**
 * The API of the process that owns a Nightshift home, on a Unix socket in the home (mode
 * 0600: only its owner can connect). Other CLI processes use it while this process runs.
 */
export async function serveLocalApi(engine: Engine, socketPath: string): Promise<LocalApi> {
  rmSync(socketPath, { force: true });
  const closing = new AbortController();
  const server = createServer((req, res) => {
    handle(engine, req, res, closing.signal).catch((error) => sendError(res, error));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  chmodSync(socketPath, 0o600);
  return {
    async close() {
      // Answer the long polls now and let every request in flight finish, then stop.
      closing.abort();
      rmSync(socketPath, { force: true });
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    },
  };
}

/** The running local API; `close` answers requests in flight before it stops. */
export interface LocalApi {
  close(): Promise<void>;
}

async function handle(
  engine: Engine,
  req: IncomingMessage,
  res: ServerResponse,
  closing: AbortSignal,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://nightshift');
  const parts = url.pathname.split('/').filter(Boolean);
  const { store } = engine;
  if (req.method === 'GET' && url.pathname === '/health') return send(res, 200, { ok: true });
  if (req.method === 'POST' && url.pathname === '/runs') {
    return send(res, 201, await engine.submit(await readJson(req)));
  }
  if (req.method === 'GET' && url.pathname === '/runs') {
    const q = url.searchParams;
    const repoId = q.get('repo') ? await engine.findRepoId(q.get('repo')!) : undefined;
    if (repoId === null) return send(res, 200, []);
    return send(
      res,
      200,
      await store.listRuns({
        status: (q.get('status') as RunStatus | null) ?? undefined,
        conclusion: (q.get('conclusion') as RunConclusion | null) ?? undefined,
        repoId,
        before: q.get('before') ?? undefined,
        limit: q.has('limit') ? Number(q.get('limit')) : undefined,
      }),
    );
  }
  if (req.method === 'GET' && url.pathname === '/audit/verify')
    return send(res, 200, await verifyAudit(store.db));
  if (req.method === 'GET' && url.pathname === '/audit/export') {
    const q = url.searchParams;
    const runId = q.get('run') ? await auditRunId(store, q.get('run')!) : undefined;
    const since = q.get('since') ? new Date(q.get('since')!) : undefined;
    const lines = exportAudit(store.db, { runId, since })[Symbol.asyncIterator]();
    // Read the first page before answering, so an error still gets a proper status.
    let next = await lines.next();
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    while (!next.done) {
      if (!res.write(next.value)) await new Promise((resolve) => res.once('drain', resolve));
      next = await lines.next();
    }
    return void res.end();
  }
  if (parts[0] === 'runs' && parts[1]) {
    const run = await store.getRun(parts[1]);
    if (req.method === 'GET' && parts.length === 2) return send(res, 200, await engine.runDetails(run.id));
    if (req.method === 'GET' && parts[2] === 'events') {
      const after = Number(url.searchParams.get('after') ?? 0);
      if (url.searchParams.get('wait') !== '1') return send(res, 200, await store.events(run.id, after));
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), LONG_POLL_MS);
      req.on('close', () => controller.abort());
      closing.addEventListener('abort', () => controller.abort(), { once: true });
      try {
        return send(res, 200, await store.waitForEvents(run.id, after, controller.signal));
      } finally {
        clearTimeout(timer);
      }
    }
    if (req.method === 'POST' && parts[2] === 'cancel') {
      const body = await readJson<{ by?: string | null }>(req);
      return send(res, 200, await store.requestCancel(run.id, body.by ?? null));
    }
    if (req.method === 'POST' && parts[2] === 'say') {
      const body = await readJson<{ message?: string; author?: string | null }>(req);
      return send(res, 200, await engine.say(run.id, body.message ?? '', body.author ?? null));
    }
    if (req.method === 'POST' && parts[2] === 'stop') {
      const body = await readJson<{ by?: string | null }>(req);
      return send(res, 200, await engine.stopAgent(run.id, body.by ?? null));
    }
  }
  throw new NightshiftError('NOT_FOUND', `no route ${req.method} ${url.pathname}`);
}

async function readJson<T>(req: IncomingMessage): Promise<T> {
  let text = '';
  for await (const chunk of req) {
    text += chunk;
    if (text.length > 1_000_000) throw new NightshiftError('INVALID_INPUT', 'request body over 1 MB');
  }
  try {
    return (text ? JSON.parse(text) : {}) as T;
  } catch {
    throw new NightshiftError('INVALID_INPUT', 'request body is not JSON');
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function sendError(res: ServerResponse, error: unknown): void {
  const e = toNightshiftError(error);
  if (res.headersSent) return void res.destroy();
  send(res, STATUS_BY_CODE[e.code] ?? 500, {
    error: { code: e.code, message: e.message, hint: e.hint ?? null },
  });
}
