import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, runCli, spawnCli, waitForOutput } from './support/cli.ts';
import { gitIn, makeRepo, processesWith } from './support/repos.ts';

describe('nightshift CLI', () => {
  let dir: string;
  let env: Record<string, string>;
  let repo: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nightshift-cli-'));
    env = { NIGHTSHIFT_HOME: join(dir, 'home') };
    repo = join(dir, 'repo');
    await makeRepo(repo, { 'README.md': '# cli\n' });
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('documents its commands and exit codes in --help', async () => {
    const { code, stdout } = await runCli(['--help'], env);

    expect(code).toBe(0);
    for (const command of ['run', 'runs', 'show', 'logs', 'diff', 'cancel', 'worker', 'demo']) {
      expect(stdout).toContain(`  ${command}`);
    }
    expect(stdout).toContain('12  timed_out');
  });

  it('reports a usage error as JSON on stdout with --json, and as text on stderr', async () => {
    const json = await runCli(['fleet', 'retry', 'colour', '--json'], env);
    const text = await runCli(['fleet', 'bogus'], env);
    const group = await runCli(['fleet', '--json'], env);

    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toEqual({
      error: {
        code: 'INVALID_INPUT',
        message: "required option '--failed' not specified",
        hint: 'run the command with --help for its usage',
      },
    });
    expect(JSON.parse(group.stdout).error.message).toBe(
      'a subcommand is missing: the usage on stderr lists them',
    );
    expect(text).toMatchObject({ code: 2, stdout: '' });
    expect(text.stderr).toContain("error: unknown command 'bogus'");
  });

  it('says how to start the first fleet or swarm when there is none', async () => {
    const fleets = await runCli(['fleet', 'list'], env);
    const swarms = await runCli(['swarm', 'list'], env);

    expect(fleets).toMatchObject({
      code: 0,
      stdout: 'no fleets yet: `nightshift fleet apply SPEC` starts one\n',
    });
    expect(swarms).toMatchObject({ code: 0, stdout: 'no swarms yet: `nightshift swarm SPEC` starts one\n' });
  });

  it.each([
    [
      'a path that does not exist',
      ['run', '--repo', '/nowhere/at/all', '--script', 'true'],
      2,
      /\/nowhere\/at\/all does not exist/,
    ],
    ['a directory that is not a git repo', ['run', '--repo', '/tmp', '--script', 'true'], 2, /git init/],
    ['neither prompt nor script', ['run', '--repo', '.'], 2, /needs a prompt or a script/],
    [
      'an unknown blueprint',
      ['run', '--repo', '.', '--script', 'true', '--blueprint', 'scrip'],
      2,
      /did you mean `script`/,
    ],
    [
      'a bad duration',
      ['run', '--repo', '.', '--script', 'true', '--timeout', 'soon'],
      2,
      /--timeout soon is not a duration/,
    ],
  ])('rejects %s with a clear message and a hint', async (_case, args, exitCode, message) => {
    const { code, stderr } = await runCli(args, env, repo);

    expect(code).toBe(exitCode);
    expect(stderr).toMatch(message);
    expect(stderr).toMatch(/^hint: /m);
  });

  it('points at every problem of an invalid blueprint file with its line', async () => {
    const file = join(dir, 'broken.yml');
    writeFileSync(
      file,
      'name: broken\nsteps:\n  - run: echo hi\n    timout: 5m\n  - gate: "true"\n    fix: nowhere\n',
    );

    const { code, stderr } = await runCli(['run', '--repo', repo, '--script', 'x', '--blueprint', file], env);

    expect(code).toBe(2);
    expect(stderr).toMatch(/broken\.yml:4:5 steps\[0\]\.timout: .*did you mean `timeout`/);
    expect(stderr).toMatch(/broken\.yml:6:10 steps\[1\]\.fix: /);
  });

  it('explains how to install bubblewrap when it is missing', async () => {
    const { code, stderr } = await runCli(['run', '--repo', repo, '--script', 'true'], {
      ...env,
      NIGHTSHIFT_BWRAP: '/nonexistent/bwrap',
    });

    expect(code).toBe(3);
    expect(stderr).toContain('apt-get install bubblewrap');
  });

  it('runs a script, then shows, logs and diffs the run', async () => {
    const run = await runCli(['run', '--repo', repo, '--script', 'echo hello > greeting.txt', '--json'], env);
    const details = JSON.parse(run.stdout);
    const id = details.run.id;

    const show = await runCli(['show', id.slice(-8)], env);
    const logs = await runCli(['logs', id], env);
    const diff = await runCli(['diff', id], env);
    const runs = await runCli(['runs', '--json', '--repo', repo], env);

    expect(run.code).toBe(0);
    expect(details).toMatchObject({ run: { conclusion: 'success' }, change: { diffstat: { files: 1 } } });
    expect(await gitIn(repo, 'show', `${details.change.branch}:greeting.txt`)).toBe('hello');
    expect(show.stdout).toMatch(/state\s+completed\/success/);
    expect(show.stdout).toContain(details.change.branch);
    expect(logs.stdout).toMatch(/✓ script/);
    expect(logs.stdout).toMatch(/● success/);
    expect(diff.stdout).toContain('+hello');
    expect(JSON.parse(runs.stdout).map((r: { id: string }) => r.id)).toContain(id);
  });

  it('ends quietly when the reader of its output goes away (`| head`), leaving the home usable', async () => {
    const listing = spawnCli(['runs'], env);
    listing.stdout!.destroy();

    const { code, stderr } = await finished(listing);
    const after = await runCli(['runs', '--json'], env);

    expect(stderr).toBe('');
    expect(code).toBe(141);
    expect(after.code).toBe(0);
  });

  it('exits with the code of the conclusion', async () => {
    const { code, stdout } = await runCli(['run', '--repo', repo, '--script', 'exit 7'], env);

    expect(code).toBe(10);
    expect(stdout).toContain('● failure: step script failed: the command exited with code 7');
  });

  it('lets another terminal follow and cancel a run that this one executes', async () => {
    const marker = `cli-cancel-${Date.now()}`;
    const running = spawnCli(
      ['run', '--repo', repo, '--script', `echo started; sleep 600 # ${marker}`, '--follow'],
      env,
    );
    const done = finished(running);
    const [, id] = await waitForOutput(running, /run (run_\w+) queued/);
    await waitForOutput(running, /started/);
    const follower = finished(spawnCli(['logs', id!, '--follow'], env));

    const cancel = await runCli(['cancel', id!], env);
    const [result, followed] = await Promise.all([done, follower]);

    expect(cancel.stderr).toBe('');
    expect(cancel.code).toBe(0);
    expect(result.code).toBe(11);
    expect(result.stdout).toContain('● cancelled');
    expect(followed.code).toBe(0);
    expect(followed.stdout).toContain('● cancelled');
    expect(processesWith(marker)).toEqual([]);
  });

  it('runs a command in a sandbox under a policy file, with its exit code and audit entries', async () => {
    const policy = join(dir, 'strict.yml');
    writeFileSync(policy, 'executables:\n  deny: [wget]\n');

    const { code, stdout } = await runCli(
      [
        'sandbox',
        'exec',
        '--repo',
        repo,
        '--policy',
        policy,
        '--json',
        '--',
        'sh',
        '-c',
        'cat README.md; wget -q x',
      ],
      env,
    );
    const result = JSON.parse(stdout);

    expect(code).toBe(127);
    expect(result.stdout).toBe('# cli\n');
    expect(result.stderr).toContain('wget: Permission denied');
    expect(result.audit.map((e: { kind: string }) => e.kind)).toEqual(
      expect.arrayContaining(['sandbox.created', 'exec', 'sandbox.destroyed']),
    );
    expect(
      result.audit.find((e: { kind: string; data: { argv?: string[] } }) => e.data.argv?.[0] === 'cat'),
    ).toBeTruthy();
  });
});
