import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { DATABASE_KINDS, useTestStore } from '../../test/support/databases.ts';
import { openDatabase } from '../store/db.ts';
import { Store } from '../store/index.ts';
import type { NewAuditEntry } from './entries.ts';
import { exportAudit } from './export.ts';
import { canonicalJson, entryHash, GENESIS_HASH } from './hash.ts';
import { AuditLog, appendAudit } from './log.ts';
import { verifyAudit } from './verify.ts';

function egress(host: string, runId: string | null = 'run_a'): NewAuditEntry {
  return {
    kind: 'egress',
    runId,
    data: { host, port: 443, method: 'CONNECT', allowed: host !== 'evil.example', reason: 'policy' },
  };
}

describe.each(DATABASE_KINDS)('audit log on %s', (kind) => {
  const store = useTestStore(kind);
  const audit = () => new AuditLog(store().db);

  beforeEach(async () => {
    await store().db.exec('TRUNCATE audit_log');
  });

  it('appends entries with consecutive numbers, each linked to the one before', async () => {
    const first = await audit().append(egress('registry.npmjs.org'));
    const [second, third] = await audit().appendMany([
      { kind: 'secret.used', runId: 'run_a', actor: 'setup', data: { names: ['NPM_TOKEN'] } },
      { kind: 'publish', runId: 'run_b', data: { branch: 'nightshift/x', headCommit: 'abc', repo: 'api' } },
    ]);

    expect([first.seq, second!.seq, third!.seq]).toEqual([1, 2, 3]);
    expect(first.prevHash).toBe(GENESIS_HASH);
    expect(second!.prevHash).toBe(first.hash);
    expect(third!.prevHash).toBe(second!.hash);
    expect(first.hash).toBe(
      entryHash(GENESIS_HASH, {
        seq: 1,
        at: first.at.toISOString(),
        kind: 'egress',
        run_id: 'run_a',
        actor: null,
        data: first.data,
      }),
    );
  });

  it('lists entries by run, kind, time and count', async () => {
    await audit().appendMany([egress('a.example'), egress('b.example', 'run_b'), egress('c.example')]);
    await audit().append({
      kind: 'policy.denied',
      runId: 'run_a',
      data: { what: 'exec /usr/bin/nc', reason: 'denied executable' },
    });

    expect((await audit().list({ runId: 'run_a' })).map((e) => e.seq)).toEqual([1, 3, 4]);
    expect((await audit().list({ kind: 'policy.denied' })).map((e) => e.seq)).toEqual([4]);
    expect((await audit().list({ limit: 2 })).map((e) => e.seq)).toEqual([1, 2]);
    expect(await audit().list({ since: new Date(Date.now() + 60_000) })).toEqual([]);
    expect((await audit().list({ since: new Date(Date.now() - 60_000) })).length).toBe(4);
  });

  it('verifies an intact chain, whatever order jsonb gives the keys back in', async () => {
    await audit().append({
      kind: 'exec',
      runId: 'run_a',
      data: {
        source: 'trace',
        argv: ['sh', '-c', 'é "quoted" \u2028'],
        cwd: '/workspace',
        pid: 12,
        exitCode: 0,
        durationMs: 1.5,
        signal: null,
      },
    });
    await audit().appendMany([egress('a.example'), egress('evil.example')]);

    const result = await verifyAudit(store().db);

    expect(result).toMatchObject({ ok: true, entries: 3, head: { seq: 3 } });
    expect(result.firstBad).toBeUndefined();
  });

  it('verifies an empty log', async () => {
    expect(await verifyAudit(store().db)).toEqual({ ok: true, entries: 0, head: null });
  });

  it('keeps one linear chain when many callers append at once', async () => {
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0
          ? audit().append(egress(`h${i}.example`))
          : audit().appendMany([egress(`m${i}.example`), egress(`n${i}.example`)]),
      ),
    );

    const result = await verifyAudit(store().db, { pageSize: 7 });

    expect(result).toMatchObject({ ok: true, entries: 60, head: { seq: 60 } });
  });

  it('refuses an entry whose data does not fit its kind, writing nothing', async () => {
    const bad = { kind: 'egress', data: { host: 'x', port: 'many' } } as unknown as NewAuditEntry;

    await expect(audit().appendMany([egress('ok.example'), bad])).rejects.toThrow(/data\.port/);
    expect(await audit().list()).toEqual([]);
  });

  describe('tampering', () => {
    beforeEach(async () => {
      for (let i = 1; i <= 6; i++) await audit().append(egress(`h${i}.example`));
    });

    it('detects data edited in place', async () => {
      await store().db.exec(
        `UPDATE audit_log SET data = jsonb_set(data, '{allowed}', 'false') WHERE seq = 3`,
      );

      expect((await verifyAudit(store().db)).firstBad).toMatchObject({ seq: 3, problem: 'edited' });
    });

    it('detects a kind or actor edited in place', async () => {
      await store().db.exec(`UPDATE audit_log SET actor = 'someone-else' WHERE seq = 5`);

      expect((await verifyAudit(store().db)).firstBad).toMatchObject({ seq: 5, problem: 'edited' });
    });

    it('detects a removed entry', async () => {
      await store().db.exec('DELETE FROM audit_log WHERE seq = 4');

      const result = await verifyAudit(store().db);

      expect(result.ok).toBe(false);
      expect(result.firstBad).toMatchObject({ seq: 4, problem: 'removed' });
    });

    it('detects a removed entry even when the later ones are renumbered', async () => {
      await store().db.exec('DELETE FROM audit_log WHERE seq = 4');
      await store().db.exec('UPDATE audit_log SET seq = seq - 1 WHERE seq > 4');

      expect((await verifyAudit(store().db)).firstBad).toMatchObject({ seq: 4, problem: 'removed' });
    });

    it('detects two entries that swapped places', async () => {
      await store().db.exec('UPDATE audit_log SET seq = -2 WHERE seq = 2');
      await store().db.exec('UPDATE audit_log SET seq = 2 WHERE seq = 3');
      await store().db.exec('UPDATE audit_log SET seq = 3 WHERE seq = -2');

      expect((await verifyAudit(store().db)).firstBad).toMatchObject({ seq: 2, problem: 'reordered' });
    });

    it('detects a forged entry appended at the end', async () => {
      const [last] = await store().db.query<{ hash: string }>('SELECT hash FROM audit_log WHERE seq = 6');
      await store().db.query(
        `INSERT INTO audit_log (seq, at, kind, run_id, actor, data, prev_hash, hash)
         VALUES (7, now(), 'egress', 'run_a', null, '{"host":"fine.example","port":443,"method":"GET","allowed":true,"reason":"x"}', $1, $2)`,
        [last!.hash, 'f'.repeat(64)],
      );

      expect((await verifyAudit(store().db)).firstBad).toMatchObject({ seq: 7, problem: 'inserted' });
    });

    it('detects a forged entry that does not link to the chain', async () => {
      await store().db.query(
        `INSERT INTO audit_log (seq, at, kind, run_id, actor, data, prev_hash, hash)
         VALUES (7, now(), 'publish', 'run_a', null, '{}', $1, $1)`,
        ['a'.repeat(64)],
      );

      expect((await verifyAudit(store().db)).firstBad).toMatchObject({ seq: 7, problem: 'inserted' });
    });

    it('detects a truncated tail against a head recorded earlier', async () => {
      const { head } = await verifyAudit(store().db);
      await store().db.exec('DELETE FROM audit_log WHERE seq >= 5');

      const plain = await verifyAudit(store().db);
      const anchored = await verifyAudit(store().db, { expectHead: head! });

      expect(plain.ok).toBe(true);
      expect(anchored.firstBad).toMatchObject({ seq: 6, problem: 'removed' });
    });

    it('detects a chain rewritten from a point on with valid hashes, against a recorded head', async () => {
      const { head } = await verifyAudit(store().db);
      const rows = await store().db.query<{ seq: string; at: Date; hash: string; prev_hash: string }>(
        'SELECT seq, at, prev_hash FROM audit_log WHERE seq >= 5 ORDER BY seq',
      );
      let prev = rows[0]!.prev_hash;
      for (const row of rows) {
        const data = { host: 'innocent.example', port: 443, method: 'GET', allowed: true, reason: 'policy' };
        const hash = entryHash(prev, {
          seq: Number(row.seq),
          at: row.at.toISOString(),
          kind: 'egress',
          run_id: 'run_a',
          actor: null,
          data,
        });
        await store().db.query(
          'UPDATE audit_log SET data = $2::jsonb, prev_hash = $3, hash = $4 WHERE seq = $1',
          [row.seq, JSON.stringify(data), prev, hash],
        );
        prev = hash;
      }

      expect((await verifyAudit(store().db)).ok).toBe(true);
      expect((await verifyAudit(store().db, { expectHead: head! })).firstBad).toMatchObject({
        seq: 6,
        problem: 'edited',
      });
    });
  });

  describe('export', () => {
    it('writes JSON lines whose hashes check out on their own', async () => {
      await audit().appendMany([egress('a.example'), egress('b.example', 'run_b'), egress('c.example')]);

      const lines: string[] = [];
      for await (const line of exportAudit(store().db, { pageSize: 2 })) lines.push(line);

      expect(lines).toHaveLength(3);
      const parsed = lines.map((line) => JSON.parse(line));
      expect(parsed.map((entry) => entry.seq)).toEqual([1, 2, 3]);
      for (const entry of parsed) {
        const { prev_hash, hash, ...fields } = entry;
        expect(entryHash(prev_hash, fields)).toBe(hash);
      }
    });

    it('filters by run and by time', async () => {
      await audit().appendMany([egress('a.example'), egress('b.example', 'run_b'), egress('c.example')]);

      const byRun: string[] = [];
      for await (const line of exportAudit(store().db, { runId: 'run_b' })) byRun.push(line);
      const future: string[] = [];
      for await (const line of exportAudit(store().db, { since: new Date(Date.now() + 60_000) }))
        future.push(line);

      expect(byRun.map((line) => JSON.parse(line).data.host)).toEqual(['b.example']);
      expect(future).toEqual([]);
    });
  });
});

describe('audit log across processes', () => {
  const dbs: Store[] = [];
  afterAll(async () => {
    for (const db of dbs) await db.close();
  });

  it('keeps one chain when several connections append at once (PostgreSQL)', async () => {
    const url = await (await import('../../test/support/databases.ts')).newPostgresDatabase();
    for (let i = 0; i < 3; i++) dbs.push(await Store.open({ url }));

    await Promise.all(
      dbs.flatMap((s, i) =>
        Array.from({ length: 10 }, (_, j) => appendAudit(s.db, egress(`p${i}-${j}.example`))),
      ),
    );

    const db = await openDatabase({ url });
    try {
      expect(await verifyAudit(db)).toMatchObject({ ok: true, entries: 30 });
    } finally {
      await db.close();
    }
  });
});

describe('canonical JSON', () => {
  it('gives the same text whatever the key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe(
      canonicalJson({ a: { c: null, d: [1, { y: 2, z: 1 }] }, b: 1 }),
    );
    expect(canonicalJson({ b: 1, a: 2 })).toBe('{"a":2,"b":1}');
  });
});
