import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../src/audit/log.ts';
import type { RunEvent } from '../src/core/events.ts';
import { Engine, engineConfig } from '../src/engine/index.ts';
import { serverPolicyFile } from '../src/policy/load.ts';
import { type ModelServer, type ScriptedTurn, startModelServer } from './support/model-server.ts';
import { gitIn, makeRepo } from './support/repos.ts';

const KEY = 'sk-test-real-key-0123456789';
const USAGE = { inputTokens: 100, outputTokens: 20 };

async function waitFor(check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const call = (name: string, input: Record<string, unknown>): ScriptedTurn => ({
  toolCalls: [{ name, input }],
  usage: USAGE,
});

/**
 * The built-in agent's `start_run` and `run_status` tools, end to end: the scripted model asks
 * for sub-runs, the engine checks each against the policy's `runs` section, children run in
 * their own sandboxes, refusals reach the model as tool errors and are audited.
 */
describe('sub-runs started by an agent', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-subruns-'));
  // Parent and child agents call the model at the same time: each request is answered from
  // the queue of the conversation it belongs to (children's prompts say CHILD).
  const parentTurns: (ScriptedTurn | ((body: string) => ScriptedTurn))[] = [];
  const childTurns: ScriptedTurn[] = [];
  const dispatch = (body: unknown): ScriptedTurn => {
    const first = JSON.stringify((body as { messages: unknown[] }).messages[0]);
    const next = first.includes('CHILD') ? childTurns.shift() : parentTurns.shift();
    if (!next) return { text: 'nothing left to do', usage: USAGE };
    return typeof next === 'function' ? next(JSON.stringify(body)) : next;
  };
  let models: ModelServer;
  let engine: Engine;
  let allowed: string;
  let forbidden: string;

  beforeAll(async () => {
    models = await startModelServer({ script: Array(60).fill(dispatch) });
    const home = join(dir, 'home');
    const config = {
      ...engineConfig(home, { ANTHROPIC_API_KEY: KEY, NIGHTSHIFT_ANTHROPIC_BASE_URL: models.url }),
      concurrency: 3,
      perRepoConcurrency: 3,
      traceExecs: false,
      limits: { memoryBytes: 256 * 1024 * 1024, pids: 256 },
    };
    engine = await Engine.open(config);
    writeFileSync(serverPolicyFile(home), `runs:\n  max_children: 2\n  repos: ["${dir}/allowed-*"]\n`);
    allowed = join(dir, 'allowed-lib');
    forbidden = join(dir, 'secret-lib');
    await makeRepo(allowed, { 'lib.txt': 'lib\n' });
    await makeRepo(forbidden, { 'lib.txt': 'secret\n' });
    await engine.startWorker();
  }, 300_000);

  afterAll(async () => {
    await engine?.close();
    await models?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function finished(runId: string) {
    await waitFor(async () => (await engine.store.getRun(runId)).status === 'completed');
    return engine.store.getRun(runId);
  }

  async function toolResults(runId: string) {
    const events = await engine.store.events(runId);
    return events.filter(
      (e): e is Extract<RunEvent, { type: 'agent.tool_result' }> => e.type === 'agent.tool_result',
    );
  }

  async function children(runId: string) {
    return engine.store.db.query<{ child_run_id: string; depth: number }>(
      'SELECT child_run_id, depth FROM run_children WHERE parent_run_id = $1 ORDER BY child_run_id',
      [runId],
    );
  }

  it('starts sub-runs within the policy and refuses the rest with a reason, each refusal audited', async () => {
    const repo = join(dir, 'app');
    await makeRepo(repo, { 'app.txt': 'app\n' });
    const other = await engine.submit({ repo: allowed, script: 'true' });
    parentTurns.push(
      call('start_run', { repo: `${repo}/`, script: 'echo one > one.txt' }),
      call('start_run', { repo: forbidden, script: 'cat lib.txt > stolen.txt' }),
      call('start_run', { repo: `${dir}/allowed-lib/../secret-lib`, script: 'cat lib.txt > stolen.txt' }),
      call('start_run', { repo: allowed, script: 'echo two > two.txt' }),
      call('start_run', { script: 'echo three > three.txt' }),
      call('start_run', { blueprint: '/etc/passwd', script: 'true' }),
      (body) => call('run_status', { id: /run (run_[0-9a-z]+) on/.exec(body)![1]! }),
      call('run_status', { id: other.id }),
      { text: 'Started what I could.', usage: USAGE },
    );

    const parent = await finished((await engine.submit({ repo, prompt: 'Split the work' })).id);

    expect(parent.conclusion).toBe('no_changes');
    const rows = await children(parent.id);
    expect(rows.map((row) => row.depth)).toEqual([1, 1]);
    const kids = await Promise.all(rows.map((row) => finished(row.child_run_id)));
    expect(kids.map((kid) => [kid.conclusion, kid.trigger])).toEqual([
      ['success', `run:${parent.id}`],
      ['success', `run:${parent.id}`],
    ]);
    // `nightshift show` and the API name them, as they do a swarm's runs under its planner.
    expect((await engine.runDetails(parent.id)).children.map((c) => [c.id, c.depth])).toEqual(
      kids.map((kid) => [kid.id, 1]),
    );
    expect((await engine.runDetails(kids[0]!.id)).parent).toMatchObject({ id: parent.id, depth: 1 });
    expect(await gitIn(repo, 'show', `${kids[0]!.branch}:one.txt`)).toBe('one');
    expect(await gitIn(allowed, 'show', `${kids[1]!.branch}:two.txt`)).toBe('two');
    const results = await toolResults(parent.id);
    expect(results.map((r) => Boolean(r.data.isError))).toEqual([
      false,
      true,
      true,
      false,
      true,
      true,
      false,
      true,
    ]);
    const text = results.map((r) => r.data.output);
    expect(text[0]).toContain(`run ${kids[0]!.id} on ${repo}`);
    expect(text[1]).toContain(`refused: the policy does not allow sub-runs on ${forbidden}`);
    expect(text[2]).toContain(`sub-runs on ${forbidden}`);
    expect(text[4]).toContain(
      "already started 2 sub-runs, the most the policy's runs.max_children (2) allows",
    );
    expect(text[5]).toContain('is not a built-in blueprint');
    expect(text[6]).toMatch(new RegExp(`run ${kids[0]!.id} on .*\\nstatus: `));
    expect(text[7]).toContain(`run ${other.id} is not a sub-run this run started`);
    const audit = await listAudit(engine.store.db, { runId: parent.id });
    const denied = audit
      .filter((e) => e.kind === 'policy.denied')
      .map((e) => (e.data as { what: string }).what);
    expect(denied).toEqual(['sub-run', 'sub-run', 'sub-run', 'sub-run', 'sub-run']);
    const spawned = audit.filter((e) => e.kind === 'run.spawned').map((e) => e.data);
    expect(spawned).toEqual([
      { childRunId: kids[0]!.id, repo, blueprint: 'script', depth: 1 },
      { childRunId: kids[1]!.id, repo: allowed, blueprint: 'script', depth: 1 },
    ]);
    expect(await gitIn(forbidden, 'branch', '--list', 'nightshift/*')).toBe('');
    const first = JSON.stringify(
      models.requests.find((r) => JSON.stringify(r.body).includes('Split the work'))?.body,
    );
    expect(first).toContain('start_run, run_status: start a sub-run');
  }, 300_000);

  it('refuses a sub-run that tries to start a run of its own (max_depth 1), and audits it', async () => {
    const repo = join(dir, 'nested');
    await makeRepo(repo, { 'app.txt': 'app\n' });
    parentTurns.push(call('start_run', { prompt: 'CHILD: start a run of your own' }), {
      text: 'Delegated.',
      usage: USAGE,
    });
    childTurns.push(call('start_run', { script: 'echo nested > nested.txt' }), {
      text: 'I could not start it.',
      usage: USAGE,
    });

    const parent = await finished((await engine.submit({ repo, prompt: 'Delegate the work' })).id);
    const [row] = await children(parent.id);
    const child = await finished(row!.child_run_id);

    expect(row!.depth).toBe(1);
    expect(child.conclusion).toBe('no_changes');
    expect(await children(child.id)).toEqual([]);
    const [result] = await toolResults(child.id);
    expect(result!.data.isError).toBe(true);
    expect(result!.data.output).toContain(
      "this run is itself a sub-run (depth 1) and the policy's runs.max_depth is 1, so it cannot start runs",
    );
    const audit = await listAudit(engine.store.db, { runId: child.id });
    expect(audit.filter((e) => e.kind === 'policy.denied').map((e) => e.data)).toEqual([
      { what: 'sub-run', reason: expect.stringContaining('runs.max_depth is 1') },
    ]);
  }, 300_000);

  it('counts a sub-run and its follow-ups as one for max_children while the parent still runs', async () => {
    const repo = join(dir, 'followed');
    await makeRepo(repo, { 'app.txt': 'app\n' });
    let letParentGoOn!: () => void;
    const followedUp = new Promise<void>((resolve) => {
      letParentGoOn = resolve;
    });
    parentTurns.push(
      call('start_run', { prompt: 'CHILD: have a first look' }),
      { ...call('start_run', { prompt: 'CHILD: have a second look' }), hold: followedUp },
      call('start_run', { prompt: 'CHILD: have a third look' }),
      { text: 'Delegated.', usage: USAGE },
    );
    childTurns.push(
      { text: 'Looked.', usage: USAGE },
      { text: 'Looked once more.', usage: USAGE },
      { text: 'Looked too.', usage: USAGE },
    );
    const parent = await engine.submit({ repo, prompt: 'Delegate the looks' });
    await waitFor(async () => (await children(parent.id)).length === 1);
    const [first] = await children(parent.id);
    await finished(first!.child_run_id);
    const said = await engine.say(first!.child_run_id, 'Have one more look', 'someone');
    await finished(said.run.id);

    letParentGoOn();
    await finished(parent.id);

    expect(said.delivery).toBe('continued');
    expect((await children(parent.id)).map((row) => row.child_run_id)).toContain(said.run.id);
    expect(await children(parent.id)).toHaveLength(3);
    const results = await toolResults(parent.id);
    expect(results.map((r) => Boolean(r.data.isError))).toEqual([false, false, true]);
    expect(results[2]!.data.output).toContain(
      "already started 2 sub-runs, the most the policy's runs.max_children (2) allows",
    );
  }, 300_000);

  it('keeps a continued sub-run under its parent, as deep: listed with it, and unable to start runs', async () => {
    const repo = join(dir, 'continued');
    await makeRepo(repo, { 'app.txt': 'app\n' });
    parentTurns.push(call('start_run', { prompt: 'CHILD: look around' }), {
      text: 'Delegated.',
      usage: USAGE,
    });
    childTurns.push(
      { text: 'Looked around.', usage: USAGE },
      call('start_run', { script: 'echo nested > nested.txt' }),
      { text: 'I could not start it.', usage: USAGE },
    );
    const parent = await finished((await engine.submit({ repo, prompt: 'Delegate the looking' })).id);
    const [row] = await children(parent.id);
    const child = await finished(row!.child_run_id);

    const said = await engine.say(child.id, 'Now start a run of your own', 'someone');
    const continued = await finished(said.run.id);

    expect(said.delivery).toBe('continued');
    expect(continued).toMatchObject({ continues: child.id, trigger: 'follow_up' });
    expect(await children(parent.id)).toEqual([row, { child_run_id: continued.id, depth: 1 }]);
    const listed = (await engine.store.listRuns({ repoId: continued.repoId })).find(
      (r) => r.id === continued.id,
    );
    expect(listed?.parent).toMatchObject({ id: parent.id, depth: 1 });
    expect((await engine.runDetails(continued.id)).parent).toMatchObject({ id: parent.id, depth: 1 });
    expect(await children(continued.id)).toEqual([]);
    const [result] = await toolResults(continued.id);
    expect(result!.data.output).toContain(
      "this run is itself a sub-run (depth 1) and the policy's runs.max_depth is 1, so it cannot start runs",
    );
  }, 300_000);
});
