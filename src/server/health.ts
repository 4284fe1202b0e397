import type { Engine } from '../engine/index.ts';
import { MIGRATIONS } from '../store/migrations/index.ts';
import { type MetricsHook, renderMetrics } from './metrics.ts';
import type { ApiRoutes } from './router.ts';

/** `/healthz` (the process answers), `/readyz` (it can serve: database, migrations, workers), `/metrics`. */
export function healthRoutes(
  api: ApiRoutes,
  engine: Engine,
  options: { workers: boolean; hooks: readonly MetricsHook[] },
): void {
  api.add(
    {
      method: 'get',
      path: '/healthz',
      summary: 'Liveness: the process answers',
      scope: null,
      success: { status: 200, type: 'application/json', description: '`{ ok: true }`' },
    },
    (c) => c.json({ ok: true }),
  );

  api.add(
    {
      method: 'get',
      path: '/readyz',
      summary: 'Readiness: database reachable and migrated; whether this process runs workers',
      scope: null,
      success: {
        status: 200,
        type: 'application/json',
        description: '`{ ok, database, migrations, workers }`',
      },
    },
    async (c) => {
      const latest = Math.max(...MIGRATIONS.map((m) => m.version));
      let database = false;
      let schema = 0;
      try {
        const rows = await engine.store.db.query<{ v: number | null }>(
          'SELECT max(version)::integer AS v FROM schema_migrations',
        );
        database = true;
        schema = rows[0]?.v ?? 0;
      } catch {
        database = false;
      }
      const migrations = { applied: schema, latest, ok: schema === latest };
      const ok = database && migrations.ok;
      return c.json({ ok, database, migrations, workers: options.workers }, ok ? 200 : 503);
    },
  );

  api.add(
    {
      method: 'get',
      path: '/metrics',
      summary: 'Prometheus metrics: runs by status and conclusion, queue depth, run durations',
      scope: 'metrics:read',
      success: { status: 200, type: 'text/plain; version=0.0.4', description: 'Prometheus text format' },
    },
    async (c) =>
      c.body(await renderMetrics(engine.store, options.hooks), 200, {
        'content-type': 'text/plain; version=0.0.4; charset=utf-8',
      }),
  );
}
