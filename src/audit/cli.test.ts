import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, runCli, spawnCli, waitForOutput } from '../../test/support/cli.ts';
import { DATABASE_KINDS, type DatabaseKind, newPostgresDatabase } from '../../test/support/databases.ts';
import { homePaths } from '../core/home.ts';
import { Store } from '../store/index.ts';
import { AuditLog } from './log.ts';

async function withStore<T>(env: Record<string, string>, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await Store.open(
    env.DATABASE_URL ? { url: env.DATABASE_URL } : { dir: homePaths(env.NIGHTSHIFT_HOME!).database },
  );
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

describe.each(DATABASE_KINDS)('nightshift audit on %s', (kind: DatabaseKind) => {
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nightshift-audit-cli-'));
    env = {
      NIGHTSHIFT_HOME: join(dir, 'home'),
      DATABASE_URL: kind === 'postgres' ? await newPostgresDatabase() : '',
    };
    await withStore(env, (store) =>
      new AuditLog(store.db).appendMany([
        { kind: 'sandbox.created', runId: 'run_one', data: { sandboxId: 'sbx_1' } },
        {
          kind: 'egress',
          runId: 'run_one',
          data: { host: 'evil.example', port: 443, method: 'CONNECT', allowed: false, reason: 'not allowed' },
        },
        {
          kind: 'publish',
          runId: 'run_two',
          data: { branch: 'nightshift/x', headCommit: 'abc', repo: 'api' },
        },
      ]),
    );
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('says an intact log is intact and exits 0', async () => {
    const { code, stdout } = await runCli(['audit', 'verify'], env);

    expect(code).toBe(0);
    expect(stdout).toMatch(/audit log intact: 3 entries, head 3 [0-9a-f]{64}/);
  });

  it('exports the entries of one run to a file as JSON lines', async () => {
    const output = join(dir, `export-${kind}.jsonl`);

    const { code } = await runCli(
      ['audit', 'export', '--run', 'run_one', '--since', '1h', '--output', output],
      env,
    );

    expect(code).toBe(0);
    const lines = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((line) => [line.seq, line.kind])).toEqual([
      [1, 'sandbox.created'],
      [2, 'egress'],
    ]);
  });

  it('exports nothing newer than the future and rejects a bad --since', async () => {
    const future = await runCli(['audit', 'export', '--since', '2999-01-01T00:00:00Z'], env);
    const bad = await runCli(['audit', 'export', '--since', 'yesterday-ish'], env);

    expect(future).toMatchObject({ code: 0, stdout: '' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--since yesterday-ish is neither a time nor a duration/);
  });

  it('exits 4 and names the entry when someone edited the log', async () => {
    await withStore(env, (store) =>
      store.db.exec(`UPDATE audit_log SET data = jsonb_set(data, '{allowed}', 'true') WHERE seq = 2`),
    );

    const text = await runCli(['audit', 'verify'], env);
    const json = await runCli(['--json', 'audit', 'verify'], env);

    expect(text.code).toBe(4);
    expect(text.stdout).toMatch(/audit log BROKEN at entry 2 \(edited\)/);
    expect(json.code).toBe(4);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, firstBad: { seq: 2, problem: 'edited' } });
  });
});

describe('nightshift audit through the process that owns the home', () => {
  let dir: string;

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('verifies and exports through its socket', async () => {
    dir = mkdtempSync(join(tmpdir(), 'nightshift-audit-remote-'));
    const env = { NIGHTSHIFT_HOME: join(dir, 'home') };
    await withStore(env, (store) =>
      new AuditLog(store.db).append({
        kind: 'policy.denied',
        runId: 'run_x',
        data: { what: 'exec nc', reason: 'denied' },
      }),
    );
    const owner = spawnCli(['worker'], env);
    const done = finished(owner);
    try {
      await waitForOutput(owner, /worker started/);

      const verify = await runCli(['--json', 'audit', 'verify'], env);
      const exported = await runCli(['audit', 'export'], env);

      expect(verify.code).toBe(0);
      expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, entries: 1 });
      expect(JSON.parse(exported.stdout)).toMatchObject({ seq: 1, kind: 'policy.denied', run_id: 'run_x' });
    } finally {
      owner.kill('SIGINT');
      await done;
    }
  });
});
