import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentUser } from '../src/engine/index.ts';
import { finished, runCli, spawnCli, waitForOutput } from './support/cli.ts';
import { type ModelServer, type ScriptedTurn, startModelServer } from './support/model-server.ts';
import { gitIn, makeRepo, processesWith } from './support/repos.ts';

const USAGE = { inputTokens: 1000, outputTokens: 200 };

describe('steering a run from another terminal', () => {
  const script: ScriptedTurn[] = [];
  let dir: string;
  let repo: string;
  let models: ModelServer;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nightshift-cli-steer-'));
    repo = join(dir, 'repo');
    await makeRepo(repo, { 'README.md': '# steer\n' });
    models = await startModelServer({ script });
    env = {
      NIGHTSHIFT_HOME: join(dir, 'home'),
      ANTHROPIC_API_KEY: 'sk-test-key',
      NIGHTSHIFT_ANTHROPIC_BASE_URL: models.url,
    };
  });

  afterAll(async () => {
    await models?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('queues a follow-up, stops the agent, shows metered usage, then continues the completed run', {
    timeout: 300_000,
  }, async () => {
    const marker = `cli-steer-${Date.now()}`;
    script.push({ toolCalls: [{ name: 'bash', input: { command: `sleep 600 # ${marker}` } }], usage: USAGE });
    const running = spawnCli(['run', '--repo', repo, '--prompt', 'Wait for instructions'], env);
    const done = finished(running);
    const [, id] = await waitForOutput(running, /run (run_\w+) queued/, 120_000);
    await waitForOutput(running, /→ bash/, 120_000);

    const said = await runCli(['say', id!, 'then write x.txt'], env);
    const stopped = await runCli(['stop', id!], env);
    const result = await done;
    const shown = await runCli(['show', id!], env);

    expect(said.stdout).toContain(`follow-up queued for run ${id}`);
    expect(stopped.code).toBe(0);
    expect(result.stdout).toContain(`follow-up from ${currentUser()} queued: then write x.txt`);
    expect(result.stdout).toContain(`agent stopped by ${currentUser()}`);
    expect(result.stdout).toContain('● no_changes');
    expect(processesWith(marker)).toEqual([]);
    expect(shown.stdout).toMatch(/usage\s+1 call, 1,000 in \/ 200 out, \$0\.\d{4}/);
    expect(shown.stdout).toMatch(/agent anthropic:claude-\S+ 1 call/);

    script.push(
      { toolCalls: [{ name: 'write_file', input: { path: 'x.txt', content: 'x\n' } }], usage: USAGE },
      { text: 'Wrote x.txt.', usage: USAGE },
    );
    const continued = await runCli(['say', id!, 'write x.txt now', '--json'], env);
    const details = JSON.parse(continued.stdout);

    expect(continued.code).toBe(0);
    expect(details.run.continues).toBe(id);
    expect(details.run.conclusion).toBe('success');
    expect(await gitIn(repo, 'show', `${details.run.branch}:x.txt`)).toBe('x');
    const stopAgain = await runCli(['stop', id!], env);
    expect(stopAgain.code).toBe(2);
    expect(stopAgain.stderr).toContain('has already completed');
    expect(stopAgain.stderr).toMatch(/^hint: .*nightshift cancel/m);
  });
});
