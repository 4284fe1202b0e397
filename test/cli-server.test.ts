import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, runCli, spawnCli, waitForOutput } from './support/cli.ts';
import { newPostgresDatabase } from './support/databases.ts';
import { makeRepo, tempDir } from './support/repos.ts';

describe('the CLI as a client of `nightshift serve` (--server, --token)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let serverEnv: Record<string, string>;
  let client: Record<string, string>;
  let repo: string;
  let server: ChildProcess;
  let url: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    repo = join(dir, 'repo');
    await makeRepo(repo, { 'README.md': '# remote\n' });
    serverEnv = { NIGHTSHIFT_HOME: join(dir, 'server-home'), DATABASE_URL: await newPostgresDatabase() };
    server = spawnCli(['serve', '--port', '0', '--json'], serverEnv);
    [, url] = (await waitForOutput(server, /"url": "(http:[^"]+)"/, 180_000)) as string[] as [string, string];
    const created = await runCli(
      ['token', 'create', '--name', 'dev', '--scope', 'runs:write', '--json'],
      serverEnv,
    );
    // The client has its own empty home: everything it sees comes from the server.
    client = {
      NIGHTSHIFT_HOME: join(dir, 'client-home'),
      NIGHTSHIFT_SERVER: url!,
      NIGHTSHIFT_TOKEN: JSON.parse(created.stdout).token,
    };
  }, 240_000);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = finished(server);
      server.kill('SIGTERM');
      await exited;
    }
    await cleanup?.();
  });

  it('runs with --follow, then lists, shows, logs and diffs the run, all through the server', async () => {
    const run = await runCli(
      ['run', '--repo', repo, '--script', 'echo remote > r.txt; echo said-it', '--follow'],
      client,
    );
    const id = /run (run_\w+) queued/.exec(run.stdout)?.[1];

    const runs = await runCli(['runs', '--json'], client);
    const show = await runCli(['show', id!], client);
    const logs = await runCli(['logs', id!, '--follow', '--json'], client);
    const diff = await runCli(['diff', id!], client);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('said-it');
    expect(run.stdout).toMatch(/● success/);
    expect(JSON.parse(runs.stdout).map((r: { id: string }) => r.id)).toEqual([id]);
    expect(show.stdout).toMatch(/state\s+completed\/success/);
    const seqs = logs.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).seq);
    expect(seqs).toEqual(seqs.map((_: number, i: number) => i + 1));
    expect(diff.stdout).toContain('+remote');
  });

  it('with --server and --token flags as well as the environment', async () => {
    const { code, stdout } = await runCli(
      ['--server', url, '--token', client.NIGHTSHIFT_TOKEN!, 'runs', '--json'],
      { NIGHTSHIFT_HOME: client.NIGHTSHIFT_HOME! },
    );

    expect(code).toBe(0);
    expect(JSON.parse(stdout).length).toBeGreaterThan(0);
  });

  it.each([
    [
      'a wrong token',
      { NIGHTSHIFT_TOKEN: 'tok_00000000000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
      5,
      /token is wrong/,
    ],
    ['no token', { NIGHTSHIFT_TOKEN: '' }, 5, /needs a token/],
    [
      'a server that is not there',
      { NIGHTSHIFT_SERVER: 'http://127.0.0.1:9' },
      6,
      /cannot reach http:\/\/127\.0\.0\.1:9/,
    ],
  ])('fails clearly with %s', async (_case, env, exitCode, message) => {
    const { code, stderr } = await runCli(['runs'], { ...client, ...env });

    expect(code).toBe(exitCode);
    expect(stderr).toMatch(message);
    expect(stderr).toMatch(/^hint: /m);
  });

  it('refuses to create tokens without the admin scope', async () => {
    const { code, stderr } = await runCli(['token', 'create', '--name', 'x', '--scope', 'admin'], client);

    expect(code).toBe(5);
    expect(stderr).toMatch(/lacks the scope admin/);
  });
});
