import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunConclusion } from '../src/core/run.ts';
import type { RunRequest } from '../src/engine/index.ts';
import { DATABASE_KINDS } from './support/databases.ts';
import { waitFor } from './support/harness-engine.ts';
import { gitIn, nightshiftBranches, processesWith } from './support/repos.ts';
import { scriptedEngine } from './support/scripted-engine.ts';
import { ScriptedHarness } from './support/scripted-harness.ts';

describe.each(DATABASE_KINDS)('engine on %s', (kind) => {
  const { state, newRepo } = scriptedEngine(kind, 'engine');
  const { harnesses } = state;

  async function runToEnd(request: RunRequest, timeoutMs = 60_000) {
    const run = await state.engine.submit({ cwd: state.dir, ...request });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const current = await state.engine.store.getRun(run.id);
      if (current.status === 'completed') {
        return {
          run: current,
          events: await state.engine.store.events(run.id),
          change: await state.engine.store.changes.forRun(run.id),
        };
      }
      if (Date.now() > deadline) throw new Error(`run ${run.id} did not complete (${current.status})`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('runs a script, commits its change on a new branch of the source repo and records it', async () => {
    const repo = await newRepo({ 'notes.txt': 'one\n' });

    const { run, events, change } = await runToEnd({ repo, script: 'echo two >> notes.txt' });

    expect(run).toMatchObject({ status: 'completed', conclusion: 'success', attempt: 1 });
    expect(await nightshiftBranches(repo)).toEqual([run.branch]);
    expect(await gitIn(repo, 'show', `${run.branch}:notes.txt`)).toBe('one\ntwo');
    expect(await gitIn(repo, 'log', '-1', '--format=%B', run.branch!)).toContain(`Nightshift-Run: ${run.id}`);
    expect(await gitIn(repo, 'rev-parse', `${run.branch}^`)).toBe(run.baseCommit);
    expect(change).toMatchObject({
      branch: run.branch,
      state: 'local',
      diffstat: { files: 1, insertions: 1 },
    });
    expect(change!.diff).toContain('+two');
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.map((e) => e.type)).toContain('change.created');
  });

  it('concludes no_changes and pushes nothing when the files stay the same', async () => {
    const repo = await newRepo();

    const { run, change } = await runToEnd({ repo, script: 'cat README.md > /dev/null' });

    expect(run.conclusion).toBe('no_changes');
    expect(change).toBeNull();
    expect(await nightshiftBranches(repo)).toEqual([]);
  });

  it('fails with the step and exit code in the reason, and keeps the output in its events', async () => {
    const repo = await newRepo();

    const { run, events } = await runToEnd({ repo, script: 'echo about to fail; exit 3' });

    expect(run.conclusion).toBe('failure');
    expect(run.reason).toBe('step script failed: the command exited with code 3');
    const output = events
      .filter((e) => e.type === 'step.output')
      .map((e) => (e.data as { text: string }).text);
    expect(output.join('')).toContain('about to fail');
  });

  it("puts the last line of a failed command's error output in the reason, without colours", async () => {
    const repo = await newRepo();
    const script = `echo noise >&2; printf '\\033[31mconfig.yml: missing key \\140name\\140\\033[0m\\n\\n' >&2; exit 2`;

    const { run } = await runToEnd({ repo, script });

    expect(run.reason).toBe(
      'step script failed: the command exited with code 2: config.yml: missing key `name`',
    );
  });

  it('runs the environment setup and its variables before the script, and the test gate after', async () => {
    const repo = await newRepo({
      '.nightshift/environment.yml':
        'setup:\n  - echo "$GREETING" > /tmp/greeting\nenv:\n  GREETING: hello\ntest: grep -q hello out.txt\n',
    });

    const { run, events } = await runToEnd({ repo, script: 'cp /tmp/greeting out.txt' });

    expect(run.conclusion).toBe('success');
    const finished = events
      .filter((e) => e.type === 'step.finished')
      .map((e) => (e.data as { step: string }).step);
    expect(finished).toEqual(['setup', 'script', 'tests', 'publish']);
  });

  it('feeds a failed gate back to the agent, which fixes it in round one', async () => {
    const repo = await newRepo({
      '.nightshift/environment.yml': 'test: sh check.sh\n',
      'check.sh': 'grep -q fixed app.txt\n',
    });
    const agent = new ScriptedHarness('scripted', [
      { commands: ['echo broken > app.txt'] },
      { commands: ['echo fixed > app.txt'], say: 'fixed it' },
    ]);
    harnesses.register(agent);

    const { run, events } = await runToEnd({ repo, prompt: 'Make app.txt say fixed' });

    expect(run.conclusion).toBe('success');
    expect(events.filter((e) => e.type === 'gate.failed').map((e) => e.data)).toEqual([
      { step: 'tests', round: 1, maxRounds: 2, fixStep: 'agent' },
    ]);
    expect(agent.prompts[1]).toContain('The check `sh check.sh` failed');
    expect(events.some((e) => e.type === 'agent.tool_call')).toBe(true);
    expect(await gitIn(repo, 'show', `${run.branch}:app.txt`)).toBe('fixed');
  });

  it('gives up after the maximum of fix rounds with conclusion failure', async () => {
    const repo = await newRepo({ '.nightshift/environment.yml': 'test: "false"\n' });
    const agent = new ScriptedHarness('scripted', [{ commands: ['echo try > app.txt'] }]);
    harnesses.register(agent);

    const { run, events } = await runToEnd({ repo, prompt: 'Try' });

    expect(run.conclusion).toBe('failure');
    expect(run.reason).toBe('gate tests failed after 2 fix rounds: the command exited with code 1');
    expect(agent.prompts).toHaveLength(3);
    expect(events.filter((e) => e.type === 'gate.failed')).toHaveLength(2);
    expect(await nightshiftBranches(repo)).toEqual([]);
  });

  it('cancels a running run within a second and leaves no process behind', async () => {
    const repo = await newRepo();
    const marker = `cancel-me-${Date.now()}`;
    const run = await state.engine.submit({ repo, script: `sleep 600 # ${marker}` });
    await waitFor(async () => processesWith(marker).length > 0);

    const asked = Date.now();
    await state.engine.store.requestCancel(run.id, 'tester');
    await waitFor(async () => processesWith(marker).length === 0);
    const stoppedAfter = Date.now() - asked;
    await waitFor(async () => (await state.engine.store.getRun(run.id)).status === 'completed');

    expect(await conclusionOf(run.id)).toBe('cancelled');
    expect(stoppedAfter).toBeLessThan(1_000);
  });

  it('stops a run that exceeds its time limit with conclusion timed_out', async () => {
    const repo = await newRepo();
    const marker = `too-slow-${Date.now()}`;

    const { run } = await runToEnd({ repo, script: `sleep 600 # ${marker}`, timeoutMs: 1_500 });

    expect(run.conclusion).toBe('timed_out');
    expect(run.reason).toBe('the run exceeded its time limit of 2s');
    expect(processesWith(marker)).toEqual([]);
  });

  it('stops a step that exceeds its own time limit', async () => {
    const repo = await newRepo();
    const blueprint = join(state.dir, `slow-step-${kind}.yml`);
    writeFileSync(blueprint, 'name: slow\nsteps:\n  - id: wait\n    run: sleep 600\n    timeout: 1s\n');

    const { run } = await runToEnd({ repo, script: 'unused', blueprint });

    expect(run.conclusion).toBe('timed_out');
    expect(run.reason).toBe('step wait exceeded its time limit of 1s');
  });

  it('kills a memory hog at the sandbox memory limit and fails the run', async () => {
    const repo = await newRepo();

    const { run } = await runToEnd({
      repo,
      script: `node -e "const a = []; for (;;) a.push(Buffer.alloc(16 * 1024 * 1024, 1))"`,
    });

    expect(run.conclusion).toBe('failure');
    expect(run.reason).toBe('step script ran out of memory');
  });

  it('rejects a request whose blueprint needs a prompt without queuing anything', async () => {
    const repo = await newRepo();
    const before = await state.engine.store.listRuns();

    const submit = state.engine.submit({ repo, script: 'true', blueprint: 'default' });

    await expect(submit).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: 'blueprint default needs a prompt',
    });
    expect(await state.engine.store.listRuns()).toEqual(before);
  });

  it('uses the harness and model a run names for agent steps that name none', async () => {
    const repo = await newRepo();
    const chosen = new ScriptedHarness('chosen', [{ commands: ['echo chosen > who.txt'] }]);
    harnesses.register(chosen);

    const { run } = await runToEnd({ repo, prompt: 'Who?', harness: 'chosen', model: 'openai:gpt-5' });

    expect(run.conclusion).toBe('success');
    expect(chosen.models).toEqual(['openai:gpt-5']);
    expect(await gitIn(repo, 'show', `${run.branch}:who.txt`)).toBe('chosen');
    await expect(state.engine.submit({ repo, prompt: 'x', harness: 'nope' })).rejects.toMatchObject({
      code: 'HARNESS_UNAVAILABLE',
    });
    await expect(
      state.engine.submit({ repo, prompt: 'x', harness: 'chosen', model: 'gpt-5' }),
    ).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: 'model "gpt-5" is not provider:model',
    });
  });

  async function conclusionOf(runId: string): Promise<RunConclusion | null> {
    return (await state.engine.store.getRun(runId)).conclusion;
  }
});
