import { stream } from 'hono/streaming';
import { auditRunId, exportAudit, verifyAudit } from '../audit/index.ts';
import { auditPage } from '../audit/page.ts';
import type { Engine } from '../engine/index.ts';
import type { ApiRoutes } from './router.ts';
import { AuditExportQuery, AuditListQuery } from './schema.ts';

/** The audit log: verify its hash chain, search it a page at a time, export it as JSON lines. */
export function auditRoutes(api: ApiRoutes, engine: Engine): void {
  const { store } = engine;
  api.add(
    {
      method: 'get',
      path: '/api/audit/verify',
      summary: "Check the audit log's hash chain",
      scope: 'audit:read',
      success: { status: 200, type: 'application/json', description: 'the verification result' },
    },
    async (c) => c.json(await verifyAudit(store.db)),
  );

  api.add(
    {
      method: 'get',
      path: '/api/audit',
      summary: 'One page of the audit log, newest first, filtered by run, kind, decision and text',
      scope: 'audit:read',
      query: AuditListQuery,
      success: { status: 200, type: 'application/json', description: '`{ entries, nextBefore }`' },
    },
    async (c, { query }) => {
      const runId = query.run ? await auditRunId(store, query.run) : undefined;
      return c.json(await auditPage(store.db, { ...query, runId }));
    },
  );

  api.add(
    {
      method: 'get',
      path: '/api/audit/export',
      summary: 'The audit log as JSON lines, optionally since a time or for one run',
      scope: 'audit:read',
      query: AuditExportQuery,
      success: { status: 200, type: 'application/x-ndjson', description: 'one entry per line' },
    },
    async (c, { query }) => {
      const runId = query.run ? await auditRunId(store, query.run) : undefined;
      const since = query.since ? new Date(query.since) : undefined;
      const lines = exportAudit(store.db, { runId, since })[Symbol.asyncIterator]();
      // Read the first page before answering, so an error still gets a proper status.
      const first = await lines.next();
      c.header('content-type', 'application/x-ndjson');
      return stream(c, async (out) => {
        for (let next = first; !next.done; next = await lines.next()) await out.write(next.value);
      });
    },
  );
}
