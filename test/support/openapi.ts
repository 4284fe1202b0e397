import type { TestApi } from './api-server.ts';

/** The parts of an OpenAPI document the tests read. */
export type Doc = { paths: Record<string, Record<string, Record<string, unknown>>> };

/** `method path` of every route the app answers, in OpenAPI's path syntax. */
export function servedRoutes(app: TestApi['app']): string[] {
  const routes = app.routes
    // Middleware (auth guards, body limits) is registered for ALL methods; `*` is the dashboard.
    .filter((r) => r.method !== 'ALL' && r.path !== '*' && r.path !== '/*')
    .map((r) => {
      const path = r.path.replace(/:(\w+)/g, '{$1}').replace(/(.)\/$/, '$1');
      return `${r.method.toLowerCase()} ${path}`;
    });
  return [...new Set(routes)].sort();
}

/** `method path` of every operation the document lists. */
export function documentedRoutes(doc: Doc): string[] {
  return Object.entries(doc.paths)
    .flatMap(([path, item]) => Object.keys(item).map((method) => `${method} ${path}`))
    .sort();
}
