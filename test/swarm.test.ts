import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { runDetails } from '../src/cli/render.ts';
import { parseSwarmSpec } from '../src/fleets/parse.ts';
import { runSwarm, type SwarmResult } from '../src/fleets/swarm.ts';
import { gitIn, makeRepo } from './support/repos.ts';
import { scriptedEngine } from './support/scripted-engine.ts';
import { ScriptedHarness } from './support/scripted-harness.ts';

/** A swarm end to end: facets in real sandboxes, a host-side merge, an agent resolving the conflict. */
describe('swarm', () => {
  // Resolves the colors' conflict; the facet agents of the follow-up test write their files.
  const resolver = new ScriptedHarness('scripted', (prompt) => {
    if (prompt.includes('Write a.txt')) return { commands: ['echo a > a.txt'] };
    if (prompt.includes('Also write b.txt')) return { commands: ['echo b > b.txt'] };
    return { commands: ["printf 'color=red+blue\\n' > conf.txt"] };
  });
  const { state } = scriptedEngine('pglite', 'swarm', {
    concurrency: 3,
    perRepoConcurrency: 3,
    traceExecs: false,
  });
  beforeAll(() => {
    state.harnesses.register(resolver);
  });
  let result: SwarmResult;

  /** What `runSwarm` needs, from the test's engine. */
  const swarmDeps = () => ({
    store: state.engine.store,
    scm: state.engine.scm,
    author: state.engine.config.author,
    defaultTimeoutMs: 120_000,
  });

  /** A new repo `name`, and the spec of swarm `name` on it with `facets` (YAML lines). */
  async function swarmOn(name: string, facets: string[]) {
    const repo = join(state.dir, name);
    await makeRepo(repo, { 'README.md': `# ${name}\n` });
    const lines = [`name: ${name}`, `repo: ${repo}`, 'goal: Add files', 'facets:', ...facets];
    return { repo, spec: parseSwarmSpec(lines.join('\n')).spec! };
  }

  it('runs facets in parallel, resolves their conflict with an agent step and publishes one change crediting each', async () => {
    const repo = join(state.dir, 'app');
    // A repo's own line that reads as a conflict marker (docs about git) is not one to resolve.
    const base = await makeRepo(repo, {
      'conf.txt': 'color=none\n',
      'docs/merging.md': 'A conflict starts with a line such as\n<<<<<<< HEAD\n',
    });
    const { spec, errors } = parseSwarmSpec(
      [
        'name: colors',
        `repo: ${repo}`,
        'goal: Pick the colors',
        'facets:',
        '  - { id: red, script: "sed -i s/^color=.*/color=red/ conf.txt" }',
        '  - { id: blue, script: "sed -i s/^color=.*/color=blue/ conf.txt" }',
        '  - { id: extra, script: "echo more > extra.txt" }',
        'converge:',
        '  gate: "grep -qx color=red+blue conf.txt && test -f extra.txt"',
      ].join('\n'),
    );
    expect(errors).toEqual([]);

    result = await runSwarm(swarmDeps(), spec!, state.dir);

    expect(result.facets.map((f) => [f.id, f.conclusion])).toEqual([
      ['red', 'success'],
      ['blue', 'success'],
      ['extra', 'success'],
    ]);
    expect(result).toMatchObject({
      conclusion: 'success',
      conflicts: ['conf.txt'],
      branch: 'nightshift/swarm/colors',
    });
    expect(resolver.prompts.at(-1)).toContain('conf.txt');
    expect(await gitIn(repo, 'rev-parse', 'nightshift/swarm/colors^')).toBe(base);
    expect(await gitIn(repo, 'show', 'nightshift/swarm/colors:conf.txt')).toBe('color=red+blue');
    expect(await gitIn(repo, 'show', 'nightshift/swarm/colors:extra.txt')).toBe('more');
    const message = await gitIn(repo, 'log', '-1', '--format=%B', 'nightshift/swarm/colors');
    for (const facet of result.facets)
      expect(message).toContain(`Nightshift-Facet: ${facet.id} ${facet.runId}`);
    const change = await state.engine.store.changes.forRun(result.convergeRunId!);
    expect(change).toMatchObject({ baseCommit: base, headCommit: result.head, diffstat: { files: 2 } });
    expect(change!.diff).toContain('+color=red+blue');
    expect(change!.diff).not.toContain('<<<<<<<');
  }, 300_000);

  it('records its facets and converge run, and `show` of any of them names the swarm and each run’s role', async () => {
    const facet = await state.engine.runDetails(result.facets[1]!.runId);
    const converge = await state.engine.runDetails(result.convergeRunId!);

    const done = { status: 'completed', conclusion: 'success' };
    expect(facet.swarm).toEqual({
      id: result.id,
      name: 'colors',
      state: 'completed',
      reason: null,
      role: 'facet',
      facet: 'blue',
      runs: [
        ...result.facets.map((f) => ({ id: f.runId, role: 'facet', facet: f.id, ...done })),
        { id: result.convergeRunId, role: 'converge', facet: null, ...done },
      ],
    });
    expect(converge.swarm).toMatchObject({ id: result.id, role: 'converge', facet: null });
    // Listed facets have no planner: the swarm started them, no run did.
    expect([facet.parent, facet.children, converge.parent, converge.children]).toEqual([null, [], null, []]);
    const shown = stripVTControlCharacters(runDetails(facet));
    expect(shown).toContain(`swarm      colors ${result.id} completed; this run: facet blue`);
    expect(shown).toMatch(
      new RegExp(`facet blue +${result.facets[1]!.runId} completed/success \\(this run\\)`),
    );
    expect(shown).toMatch(new RegExp(`converge +${result.convergeRunId} completed/success\n`));
  });

  it('keeps a follow-up of its converge run in the swarm, as its converge: shown and listed so', async () => {
    const said = await state.engine.say(result.convergeRunId!, 'Also keep the colors sorted', 'someone');
    await waitUntilCompleted(said.run.id);

    const continued = await state.engine.runDetails(said.run.id);
    const listed = await state.engine.store.listRuns({ repoId: continued.run.repoId });

    expect(said.delivery).toBe('continued');
    expect(continued.run.continues).toBe(result.convergeRunId);
    expect(continued.swarm).toMatchObject({ id: result.id, name: 'colors', role: 'converge', facet: null });
    expect(continued.swarm!.runs.slice(-2).map((run) => [run.id, run.role])).toEqual([
      [result.convergeRunId, 'converge'],
      [said.run.id, 'converge'],
    ]);
    expect(listed.find((run) => run.id === said.run.id)?.swarm).toEqual({
      id: result.id,
      name: 'colors',
      role: 'converge',
      facet: null,
    });
  }, 300_000);

  it('waits for a follow-up of a facet sent before the merge, and merges and credits it', async () => {
    const { repo, spec } = await swarmOn('steered', [
      '  - { id: words, prompt: "Write a.txt" }',
      '  - { id: slow, script: "sleep 8 && echo s > s.txt" }',
    ]);
    const deps = swarmDeps();
    const swarm = runSwarm(deps, spec, state.dir);
    // The words facet ends first; its follow-up, sent while the slow one runs, ends after it.
    const wordsRun = async () =>
      (
        await state.engine.store.db.query<{ id: string; status: string }>(
          "SELECT r.id, r.status FROM runs r JOIN swarm_runs s ON s.run_id = r.id WHERE s.facet = 'words' AND r.trigger = 'swarm:steered'",
        )
      )[0];
    let first = await wordsRun();
    while (first?.status !== 'completed') {
      await new Promise((resolve) => setTimeout(resolve, 100));
      first = await wordsRun();
    }
    const said = await state.engine.say(first.id, 'Also write b.txt', 'someone');
    const steered = await swarm;

    expect(said.delivery).toBe('continued');
    expect(steered.facets.find((facet) => facet.id === 'words')).toMatchObject({
      runId: said.run.id,
      conclusion: 'success',
    });
    expect(steered.conclusion).toBe('success');
    expect(await gitIn(repo, 'show', 'nightshift/swarm/steered:b.txt')).toBe('b');
    expect(await gitIn(repo, 'show', 'nightshift/swarm/steered:a.txt')).toBe('a');
    expect(await gitIn(repo, 'log', '-1', '--format=%B', 'nightshift/swarm/steered')).toContain(
      `Nightshift-Facet: words ${said.run.id}`,
    );
  }, 300_000);

  it('cancels a run that a drive which stopped created, held, and did not record', async () => {
    const { spec } = await swarmOn('orphaned', ['  - { id: one, script: "echo 1 > one.txt" }']);
    const deps = swarmDeps();
    const first = await runSwarm(deps, spec, state.dir);
    const facet = await state.engine.store.getRun(first.facets[0]!.runId);
    // As the drive leaves it when its process dies between creating a run and recording it.
    const orphan = await state.engine.store.createRun({
      repoId: facet.repoId,
      blueprint: 'script',
      blueprintSpec: { name: 'script', steps: [] },
      inputs: { script: 'true', values: {} },
      timeoutMs: 60_000,
      trigger: 'swarm:orphaned',
      held: true,
    });

    const again = await runSwarm(deps, spec, state.dir);

    expect(again.conclusion).toBe('success');
    expect(await state.engine.store.getRun(orphan.id)).toMatchObject({
      status: 'completed',
      conclusion: 'cancelled',
    });
  }, 300_000);

  it('continues an execution that stopped, starting no run twice; a changed spec abandons it and cancels its runs', async () => {
    const repo = join(state.dir, 'resumed');
    await makeRepo(repo, { 'README.md': '# resumed\n' });
    const deps = swarmDeps();
    const specOf = (facets: string[]) =>
      parseSwarmSpec([`name: resumed`, `repo: ${repo}`, 'goal: Add files', 'facets:', ...facets].join('\n'))
        .spec!;
    const spec = specOf([
      '  - { id: slow, script: "sleep 1 && echo s > s.txt" }',
      '  - { id: quick, script: "echo q > q.txt" }',
    ]);
    /** Runs the swarm until its facets started, then stops, as Ctrl-C does. */
    const stopAfterFacets = async (stopped: typeof spec) => {
      const stop = new AbortController();
      const onProgress = (line: string) => {
        if (/^\d+ facets? started$/.test(line)) stop.abort(new Error('interrupted'));
      };
      await expect(runSwarm(deps, stopped, state.dir, { onProgress, signal: stop.signal })).rejects.toThrow(
        'interrupted',
      );
    };
    const executions = () =>
      state.engine.store.db.query<{ id: string; state: string; reason: string | null }>(
        "SELECT id, state, reason FROM swarms WHERE name = 'resumed' ORDER BY created_at",
      );
    const runsOf = (swarmId: string) =>
      state.engine.store.db.query<{ run_id: string; role: string }>(
        'SELECT run_id, role FROM swarm_runs WHERE swarm_id = $1',
        [swarmId],
      );

    await stopAfterFacets(spec);
    const [stopped] = await executions();
    const facetRuns = (await runsOf(stopped!.id)).map((run) => run.run_id);
    const lines: string[] = [];
    const continued = await runSwarm(deps, spec, state.dir, { onProgress: (line) => lines.push(line) });

    expect(stopped!.state).toBe('facets');
    expect(lines[0]).toBe('continuing where it stopped: 2 runs already started');
    expect(continued).toMatchObject({ id: stopped!.id, conclusion: 'success' });
    expect(continued.facets.map((facet) => facet.runId).sort()).toEqual(facetRuns.sort());
    expect((await runsOf(stopped!.id)).map((run) => run.role).sort()).toEqual(['converge', 'facet', 'facet']);
    expect(await gitIn(repo, 'show', 'nightshift/swarm/resumed:s.txt')).toBe('s');

    // A changed spec does not take up the runs of a stopped execution: they are cancelled.
    await stopAfterFacets(specOf(['  - { id: long, script: "sleep 60 && echo l > l.txt" }']));
    const changed = await runSwarm(deps, specOf(['  - { id: other, script: "echo o > o.txt" }']), state.dir);
    const [, abandoned, latest] = await executions();
    const [longRun] = await runsOf(abandoned!.id);
    await waitUntilCompleted(longRun!.run_id);

    expect(abandoned).toMatchObject({
      state: 'failed',
      reason: 'superseded: `nightshift swarm` ran again with a changed spec',
    });
    expect((await state.engine.store.getRun(longRun!.run_id)).conclusion).toBe('cancelled');
    expect(latest).toMatchObject({ id: changed.id, state: 'completed' });
    expect(changed.conclusion).toBe('success');
  }, 300_000);

  it('drives one execution per spec in the engine: the same spec started again follows it, a changed one supersedes it', async () => {
    const { swarms } = state.engine;
    const repo = join(state.dir, 'driven');
    await makeRepo(repo, { 'README.md': '# driven\n' });
    const specOf = (facet: string) =>
      parseSwarmSpec(['name: driven', `repo: ${repo}`, 'goal: Add a file', 'facets:', facet].join('\n'))
        .spec!;
    const slow = specOf('  - { id: long, script: "sleep 60 && echo l > l.txt" }');

    const first = await swarms.start(slow, state.dir);
    const again = await swarms.start(slow, state.dir);
    const changed = await swarms.start(specOf('  - { id: quick, script: "echo q > q.txt" }'), state.dir);
    const superseded = await swarms.progress(first.id);
    let ended = await swarms.progress(changed.id);
    while (ended.driving) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      ended = await swarms.progress(changed.id, ended.next);
    }
    const [longRun] = await state.engine.store.db.query<{ run_id: string }>(
      'SELECT run_id FROM swarm_runs WHERE swarm_id = $1',
      [first.id],
    );
    await waitUntilCompleted(longRun!.run_id);

    expect(first).toEqual({ id: expect.stringMatching(/^swm_/), name: 'driven', attached: false });
    expect(again).toEqual({ ...first, attached: true });
    expect(changed.id).not.toBe(first.id);
    expect(superseded).toMatchObject({
      state: 'failed',
      reason: 'superseded: `nightshift swarm` ran again with a changed spec',
      driving: false,
      result: null,
      error: {
        code: 'CONFLICT',
        message: 'superseded: `nightshift swarm` ran again with a changed spec',
        hint: 'the changed spec’s execution goes on: run `nightshift swarm` on that spec to follow it',
      },
    });
    expect(superseded.lines).toEqual(['1 facet started']);
    expect((await state.engine.store.getRun(longRun!.run_id)).conclusion).toBe('cancelled');
    expect(ended).toMatchObject({ state: 'completed', driving: false, error: null });
    expect(ended.result).toMatchObject({ id: changed.id, conclusion: 'success' });
    await expect(swarms.progress('swm_none')).rejects.toThrow('swarm swm_none does not exist');
  }, 300_000);

  it('stops at once when cancelled: its unfinished runs are cancelled, it starts no other, and ends as cancelled', async () => {
    const { swarms, store } = state.engine;
    const repo = join(state.dir, 'halted');
    await makeRepo(repo, { 'README.md': '# halted\n' });
    const spec = parseSwarmSpec(
      [
        'name: halted',
        `repo: ${repo}`,
        'goal: Add files',
        'facets:',
        '  - { id: quick, script: "echo q > q.txt" }',
        '  - { id: long, script: "sleep 60 && echo l > l.txt" }',
      ].join('\n'),
    ).spec!;

    // Cancelled as soon as it is recorded: its drive is still starting its facets.
    const { id } = await swarms.start(spec, state.dir);
    const { swarm, cancelled } = await swarms.cancel(id, 'ana');
    let progress = await swarms.progress(id);
    while (progress.driving) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      progress = await swarms.progress(id);
    }
    const runs = await store.db.query<{ id: string }>("SELECT id FROM runs WHERE trigger = 'swarm:halted'");
    for (const run of runs) await waitUntilCompleted(run.id);
    const outcomes = await Promise.all(runs.map(async (run) => (await store.getRun(run.id)).conclusion));
    const again = await swarms.cancel(id, 'ana').catch((error: Error) => error);
    const next = await swarms.start(spec, state.dir);
    await swarms.cancel(next.id, 'ana');

    expect(swarm).toMatchObject({
      id,
      name: 'halted',
      state: 'cancelled',
      reason: 'cancelled by ana',
      driver: null,
    });
    // Every run it had recorded but the quick facet, if that one had already succeeded.
    expect(cancelled).toBe(swarm.runs.filter((run) => run.conclusion !== 'success').length);
    expect(progress).toMatchObject({
      state: 'cancelled',
      reason: 'cancelled by ana',
      result: null,
      error: null,
    });
    // No run of it went on, and no converge run started: at most its two facets, none succeeded
    // but the quick one, which may have finished before the cancel reached it.
    expect(runs.length).toBeLessThanOrEqual(2);
    expect(outcomes.filter((c) => c !== 'cancelled').every((c) => c === 'success')).toBe(true);
    expect(outcomes.filter((c) => c === 'success').length).toBeLessThanOrEqual(1);
    expect(again).toMatchObject({
      code: 'CONFLICT',
      message: `swarm halted (${id}) has ended (cancelled): there is nothing to cancel`,
    });
    // Starting the spec again starts a new execution: the cancelled one is over.
    expect(next).toMatchObject({ name: 'halted', attached: false });
    expect(next.id).not.toBe(id);
  }, 300_000);

  async function waitUntilCompleted(runId: string): Promise<void> {
    const deadline = Date.now() + 240_000;
    while ((await state.engine.store.getRun(runId)).status !== 'completed') {
      if (Date.now() > deadline) throw new Error(`run ${runId} did not complete`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
});
