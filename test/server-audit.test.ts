import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit, type NewAuditEntry } from '../src/audit/index.ts';
import { createToken } from '../src/server/tokens.ts';
import { startTestApi, type TestApi } from './support/api-server.ts';
import { DATABASE_KINDS } from './support/databases.ts';

/** 30 egress entries (every third refused) on run_a, then a policy denial and a budget stop on run_b. */
function entries(): NewAuditEntry[] {
  const egress: NewAuditEntry[] = Array.from({ length: 30 }, (_, i) => ({
    kind: 'egress',
    runId: 'run_a',
    data: {
      host: `host${i}.example`,
      port: 443,
      method: 'CONNECT',
      allowed: i % 3 !== 0,
      reason: 'allowlist',
    },
  }));
  return [
    ...egress,
    { kind: 'policy.denied', runId: 'run_b', data: { what: 'git push --force', reason: '100% forbidden' } },
    { kind: 'budget.exceeded', runId: 'run_b', data: { spentUsd: 2, limitUsd: 1 } },
  ];
}

describe.each(DATABASE_KINDS)('GET /api/audit on %s', (kind) => {
  let api: TestApi;
  let auditor: string;
  let reader: string;

  beforeAll(async () => {
    api = await startTestApi(kind);
    await appendAudit(api.engine.store.db, entries());
    auditor = (await createToken(api.engine.store, { name: 'auditor', scopes: ['audit:read'] })).token;
    reader = (await createToken(api.engine.store, { name: 'reader', scopes: ['runs:read'] })).token;
  }, 240_000);

  afterAll(async () => {
    await api?.close();
  });

  async function page(query: string) {
    const res = await api.fetch(`/api/audit?${query}`, { token: auditor });
    expect(res.status).toBe(200);
    return (await res.json()) as {
      entries: { seq: number; kind: string; run_id: string }[];
      nextBefore: number | null;
    };
  }

  it('pages through the log newest first with a cursor, each entry carrying its hashes', async () => {
    const first = await page('limit=20');
    const second = await page(`limit=20&before=${first.nextBefore}`);

    expect(first.entries.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => 32 - i));
    expect(first.nextBefore).toBe(13);
    expect(second.entries.map((e) => e.seq)).toEqual(Array.from({ length: 12 }, (_, i) => 12 - i));
    expect(second.nextBefore).toBeNull();
    expect(first.entries[0]).toMatchObject({
      kind: 'budget.exceeded',
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it('filters by run, kind, decision and text in the database', async () => {
    const byRun = await page('run=run_b');
    const byKind = await page('kind=egress&limit=500');
    const allowed = await page('decision=allowed&limit=500');
    const denied = await page('decision=denied&limit=500');
    const deniedOfRunA = await page('decision=denied&run=run_a&limit=3');
    const text = await page('text=HOST2');
    const percent = await page('text=100%25');

    expect(byRun.entries.map((e) => e.kind)).toEqual(['budget.exceeded', 'policy.denied']);
    expect(byKind.entries).toHaveLength(30);
    expect(allowed.entries).toHaveLength(20);
    expect(denied.entries.map((e) => e.kind).slice(0, 2)).toEqual(['budget.exceeded', 'policy.denied']);
    expect(denied.entries).toHaveLength(12);
    expect(deniedOfRunA.entries).toHaveLength(3);
    expect(deniedOfRunA.nextBefore).not.toBeNull();
    // host2, host20 ... host29
    expect(text.entries).toHaveLength(11);
    expect(percent.entries.map((e) => e.kind)).toEqual(['policy.denied']);
  });

  it('treats wildcards and quotes in the search text as plain text', async () => {
    const underscore = await page('text=host_');
    const injection = await page(`text=${encodeURIComponent("' OR 1=1 --")}`);

    expect(underscore.entries).toEqual([]);
    expect(injection.entries).toEqual([]);
  });

  it.each([
    ['decision=maybe', 'query.decision'],
    ['limit=100000', 'query.limit'],
    ['before=abc', 'query.before'],
    ['before=0', 'query.before'],
    ['order=asc', 'order'],
  ])('refuses the query %s naming what is wrong', async (query, where) => {
    const res = await api.fetch(`/api/audit?${query}`, { token: auditor });

    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toContain(where);
  });

  it('answers only a token with the audit:read scope', async () => {
    const anonymous = await api.fetch('/api/audit');
    const forged = await api.fetch('/api/audit', { token: 'nst_forged' });
    const runsOnly = await api.fetch('/api/audit', { token: reader });

    expect(anonymous.status).toBe(401);
    expect(forged.status).toBe(401);
    expect(runsOnly.status).toBe(403);
  });
});
