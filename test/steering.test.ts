import { describe, expect, it } from 'vitest';
import { DATABASE_KINDS } from './support/databases.ts';
import { gate } from './support/gate.ts';
import { ofType, waitFor } from './support/harness-engine.ts';
import { gitIn, processesWith } from './support/repos.ts';
import { scriptedEngine } from './support/scripted-engine.ts';
import { ScriptedHarness } from './support/scripted-harness.ts';

describe.each(DATABASE_KINDS)('steering a live run on %s', (kind) => {
  const { state, newRepo } = scriptedEngine(kind, 'steering');
  const { harnesses } = state;

  async function finish(runId: string) {
    await waitFor(async () => (await state.engine.store.getRun(runId)).status === 'completed', 60_000);
    return { run: await state.engine.store.getRun(runId), events: await state.engine.store.events(runId) };
  }

  const eventsOf = (runId: string) => state.engine.store.events(runId);

  it('delivers follow-ups to the live agent in order when its turn ends, attributed to their authors', async () => {
    const repo = await newRepo();
    const held = gate();
    const agent = new ScriptedHarness('scripted', [
      { commands: ['echo one > one.txt'], hold: held.promise },
      { commands: ['echo two > two.txt'] },
      { commands: ['echo three > three.txt'] },
    ]);
    harnesses.register(agent);
    const queued = await state.engine.submit({ repo, prompt: 'Write one.txt' });
    await waitFor(async () => ofType(await eventsOf(queued.id), 'agent.tool_result').length > 0);

    const first = await state.engine.say(queued.id, 'now two.txt', 'alice');
    const second = await state.engine.say(queued.id, 'and three.txt', 'bob');
    await waitFor(async () => ofType(await eventsOf(queued.id), 'agent.follow_up').length === 2);
    held.open();
    const { run, events } = await finish(queued.id);

    expect([first.delivery, second.delivery]).toEqual(['queued', 'queued']);
    expect(agent.prompts).toEqual(['Write one.txt', 'alice: now two.txt', 'bob: and three.txt']);
    expect(ofType(events, 'run.follow_up_requested').map((e) => e.data)).toEqual([
      { message: 'now two.txt', by: 'alice' },
      { message: 'and three.txt', by: 'bob' },
    ]);
    expect(run.conclusion).toBe('success');
    expect(await gitIn(repo, 'show', `${run.branch}:three.txt`)).toBe('three');
    expect(await state.engine.store.steering.pending([run.id])).toEqual([]);
  });

  it('stops the agent mid-command within seconds, records who stopped it, and publishes what it did', async () => {
    const repo = await newRepo();
    const marker = `steer-stop-${kind}-${Date.now()}`;
    const agent = new ScriptedHarness('scripted', [
      { commands: ['echo kept > kept.txt', `sleep 600 # ${marker}`] },
    ]);
    harnesses.register(agent);
    const queued = await state.engine.submit({ repo, prompt: 'Work for a long time' });
    await waitFor(() => processesWith(marker).length > 0);

    const asked = Date.now();
    await state.engine.stopAgent(queued.id, 'carol');
    const { run, events } = await finish(queued.id);

    expect(Date.now() - asked).toBeLessThan(10_000);
    expect(processesWith(marker)).toEqual([]);
    expect(ofType(events, 'agent.stopped').map((e) => e.data)).toEqual([{ step: 'agent', by: 'carol' }]);
    expect(run.conclusion).toBe('success');
    expect(await gitIn(repo, 'show', `${run.branch}:kept.txt`)).toBe('kept');
  });

  it('gives a stopped agent no fix round: the failed gate fails the run', async () => {
    const repo = await newRepo({
      '.nightshift/environment.yml': 'test: grep -q fixed app.txt\n',
      'README.md': '# demo\n',
    });
    const held = gate();
    const agent = new ScriptedHarness('scripted', [
      { commands: ['echo broken > app.txt'], hold: held.promise },
      { commands: ['echo fixed > app.txt'] },
    ]);
    harnesses.register(agent);
    const queued = await state.engine.submit({ repo, prompt: 'Fix app.txt' });
    await waitFor(async () => ofType(await eventsOf(queued.id), 'agent.tool_result').length > 0);

    await state.engine.stopAgent(queued.id, 'dave');
    const { run, events } = await finish(queued.id);

    expect(run.conclusion).toBe('failure');
    expect(run.reason).toContain('gate tests failed');
    expect(ofType(events, 'gate.failed')).toEqual([]);
    expect(agent.prompts).toEqual(['Fix app.txt']);
  });

  it('continues a completed run on its branch when it gets a follow-up, on top of its change', async () => {
    const repo = await newRepo();
    const agent = new ScriptedHarness('scripted', [
      { commands: ['echo code > code.txt'] },
      { commands: ['test -f code.txt && echo docs > docs.txt'] },
    ]);
    harnesses.register(agent);
    const firstRun = await state.engine.submit({ repo, prompt: 'Write the code' });
    const { run: first } = await finish(firstRun.id);

    const { delivery, run: next } = await state.engine.say(first.id, 'now also update the docs', 'erin');
    const { run: second } = await finish(next.id);

    expect(delivery).toBe('continued');
    expect(second.continues).toBe(first.id);
    expect(second.branch).toBe(first.branch);
    expect(second.trigger).toBe('follow_up');
    expect(second.conclusion).toBe('success');
    expect(agent.prompts).toEqual(['Write the code', 'now also update the docs']);
    const log = await gitIn(repo, 'log', '--format=%s', first.branch!);
    expect(log.split('\n')).toHaveLength(3);
    expect(await gitIn(repo, 'show', `${first.branch}:code.txt`)).toBe('code');
    expect(await gitIn(repo, 'show', `${first.branch}:docs.txt`)).toBe('docs');
    const change = await state.engine.store.changes.forRun(second.id);
    expect(change?.diffstat.perFile.map((f) => f.path)).toEqual(['docs.txt']);
  });

  it('continues the run with a follow-up that arrived after its agent finished, so nothing is lost', async () => {
    const repo = await newRepo({
      '.nightshift/environment.yml': 'test: sleep 2\n',
      'README.md': '# demo\n',
    });
    const agent = new ScriptedHarness('scripted', [
      { commands: ['echo a > a.txt'] },
      { commands: ['echo b > b.txt'] },
    ]);
    harnesses.register(agent);
    const queued = await state.engine.submit({ repo, prompt: 'Write a.txt' });
    await waitFor(async () =>
      ofType(await eventsOf(queued.id), 'step.started').some((e) => e.data.step === 'tests'),
    );

    const said = await state.engine.say(queued.id, 'b.txt too', 'frank');
    await finish(queued.id);
    let next = null as Awaited<ReturnType<typeof state.engine.store.listRuns>>[number] | null;
    await waitFor(async () => {
      next =
        (await state.engine.store.listRuns({ repoId: said.run.repoId })).find(
          (r) => r.continues === queued.id,
        ) ?? null;
      return next !== null;
    });
    const { run: continued } = await finish(next!.id);

    expect(said.delivery).toBe('queued');
    expect(continued.author).toBe('frank');
    expect(continued.inputs.prompt).toBe('b.txt too');
    expect(continued.conclusion).toBe('success');
    expect(await gitIn(repo, 'show', `${continued.branch}:b.txt`)).toBe('b');
  });

  it('refuses to stop a completed run or continue a script run, saying what to do instead', async () => {
    const repo = await newRepo();
    const scripted = await state.engine.submit({ repo, script: 'echo x > x.txt' });
    const { run } = await finish(scripted.id);

    await expect(state.engine.stopAgent(run.id, 'gina')).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(state.engine.say(run.id, 'more', 'gina')).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining('has no agent step'),
    });
    await expect(state.engine.say(run.id, '   ', 'gina')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('refuses a follow-up or a stop to a script run still queued, instead of queueing them for no one', async () => {
    const repo = await newRepo();
    const scripted = await state.engine.submit({ repo, script: 'sleep 1; echo x > x.txt' });

    const said = await state.engine.say(scripted.id, 'also y.txt', 'hana').catch((e: unknown) => e);
    const stopped = await state.engine.stopAgent(scripted.id, 'hana').catch((e: unknown) => e);
    const details = await state.engine.runDetails(scripted.id);
    const { run } = await finish(scripted.id);

    expect(said).toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining('has no agent step'),
    });
    expect(stopped).toMatchObject({
      code: 'INVALID_INPUT',
      hint: expect.stringContaining('nightshift cancel'),
    });
    expect(details.agent).toBe(false);
    expect(run.conclusion).toBe('success');
    expect(await state.engine.store.steering.pending([run.id])).toEqual([]);
    // Nothing continued it.
    expect((await state.engine.store.listRuns({})).filter((r) => r.continues === run.id)).toEqual([]);
  });
});
