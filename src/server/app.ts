import { Hono, type MiddlewareHandler } from 'hono';
import { NightshiftError } from '../core/errors.ts';
import type { Engine } from '../engine/index.ts';
import { auditRoutes } from './audit.ts';
import { authenticator } from './auth.ts';
import { errorResponse } from './errors.ts';
import { healthRoutes } from './health.ts';
import { insightsRoutes } from './insights.ts';
import type { MetricsHook } from './metrics.ts';
import { type OpenApiPaths, openApiDocument } from './openapi.ts';
import { ApiRoutes, type AppEnv, type RouteSpec } from './router.ts';
import { runRoutes } from './runs.ts';
import { streamRoutes } from './sse.ts';
import { dashboardRoutes } from './static.ts';
import { tokenRoutes } from './token-routes.ts';

/**
 * A part of the server written elsewhere (webhook ingress, automations, fleets), mounted at
 * `basePath`. Its routes get bearer auth (any valid token; check scopes with `requireScope`)
 * unless `public` (webhook ingress verifies its own signatures).
 */
export interface ServerModule {
  name: string;
  basePath: string;
  // biome-ignore lint/suspicious/noExplicitAny: modules choose their own Hono env
  routes: Hono<any>;
  public?: boolean;
  /** Lines this module adds to `/metrics`. */
  metrics?: MetricsHook;
  /** Its routes for `/openapi.json` (full paths), with the zod schemas that validate them. */
  specs?: readonly RouteSpec[];
  /** Hand-written path items for `/openapi.json` (full paths), for what `specs` cannot say. */
  openapi?: OpenApiPaths;
}

export interface AppOptions {
  engine: Engine;
  modules?: readonly ServerModule[];
  /** `tokens` on TCP; `local` on the home's Unix socket (mode 0600, no token needed). */
  auth: 'tokens' | 'local';
  /** Aborted when the server shuts down: live streams and long polls end at once. */
  closing?: AbortSignal;
  /** Whether this process runs workers (reported by `/readyz`). */
  workers?: boolean;
  /** Interval of SSE heartbeat comments on idle streams (default 15 s). */
  heartbeatMs?: number;
  /** Directory of the built dashboard served at `/` (default `web/dist`); null serves none. */
  dashboardDir?: string | null;
}

/**
 * The Nightshift HTTP API as a Hono app: runs, live events, audit, tokens, health, metrics,
 * `/openapi.json`, and the modules' routes.
 */
export function createApp(options: AppOptions): Hono<AppEnv> {
  const { engine } = options;
  const modules = options.modules ?? [];
  const closing = options.closing ?? new AbortController().signal;
  const app = new Hono<AppEnv>();
  const authenticate = authenticator(engine.store, options.auth);
  const api = new ApiRoutes(app, authenticate);

  app.onError((error, c) => errorResponse(c, error));
  app.notFound((c) =>
    errorResponse(
      c,
      new NightshiftError('NOT_FOUND', `no route ${c.req.method} ${c.req.path}`, {
        hint: 'see /openapi.json for the routes',
      }),
    ),
  );

  healthRoutes(api, engine, {
    workers: options.workers ?? false,
    hooks: modules.flatMap((m) => (m.metrics ? [m.metrics] : [])),
  });
  runRoutes(api, engine, closing);
  streamRoutes(api, engine, closing, options.heartbeatMs ?? 15_000);
  auditRoutes(api, engine);
  tokenRoutes(api, engine);
  insightsRoutes(api, engine);
  api.add(
    {
      method: 'get',
      path: '/openapi.json',
      summary: 'This document',
      scope: null,
      success: { status: 200, type: 'application/json', description: 'OpenAPI 3.1' },
    },
    (c) => c.json(document),
  );
  const document = openApiDocument(
    [...api.specs, ...modules.flatMap((m) => m.specs ?? [])],
    Object.assign({}, ...modules.map((m) => m.openapi ?? {})),
  );

  for (const module of modules) {
    if (!module.public) {
      const guard: MiddlewareHandler<AppEnv> = async (c, next) => {
        c.set('principal', await authenticate(c));
        await next();
      };
      app.use(module.basePath, guard);
      app.use(`${module.basePath}/*`, guard);
    }
    app.route(module.basePath, module.routes);
  }
  if (options.dashboardDir !== null) dashboardRoutes(app, options.dashboardDir);
  return app;
}
