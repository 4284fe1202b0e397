import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../src/audit/log.ts';
import { runDetails } from '../src/cli/render.ts';
import { parseSwarmSpec } from '../src/fleets/parse.ts';
import { runSwarm, type SwarmResult } from '../src/fleets/swarm.ts';
import { gitIn, makeRepo, nightshiftBranches } from './support/repos.ts';
import { scriptedEngine } from './support/scripted-engine.ts';
import { ScriptedHarness } from './support/scripted-harness.ts';

/** Shell that writes `plan` as the planner's file. */
function writePlan(plan: unknown): string {
  return `mkdir -p .nightshift && printf '%s' '${typeof plan === 'string' ? plan : JSON.stringify(plan)}' > .nightshift/facets.json`;
}

/** A swarm whose facets a planner agent proposes, end to end in real sandboxes. */
describe('swarm with a planner', () => {
  let plan: unknown = null;
  // `plan` undefined: the planner writes no plan at all.
  const planner = new ScriptedHarness('planner', () => ({
    commands: plan === undefined ? ['true'] : [writePlan(plan)],
  }));
  // Each facet agent does what its prompt names: `write FILE`.
  const worker = new ScriptedHarness('scripted', (prompt) => {
    const file = /write (\S+)/.exec(prompt)?.[1] ?? 'unknown.txt';
    return { commands: [`echo ${file} > ${file}`] };
  });
  const { state } = scriptedEngine('pglite', 'swarm-plan', {
    concurrency: 3,
    perRepoConcurrency: 3,
    traceExecs: false,
  });
  beforeAll(() => {
    state.harnesses.register(planner);
    state.harnesses.register(worker);
  });

  let planned: SwarmResult;

  const deps = () => ({
    store: state.engine.store,
    scm: state.engine.scm,
    author: state.engine.config.author,
    defaultTimeoutMs: 120_000,
  });

  function spec(repo: string, name: string, maxFacets = 3) {
    const { spec, errors } = parseSwarmSpec(
      [
        `name: ${name}`,
        `repo: ${repo}`,
        'goal: Document and test the app',
        'planner:',
        '  harness: planner',
        '  prompt: Keep facets small.',
        `  max_facets: ${maxFacets}`,
        'converge:',
        '  gate: "test -f docs.txt && test -f tests.txt"',
      ].join('\n'),
    );
    expect(errors).toEqual([]);
    return spec!;
  }

  it('runs the facets the planner proposed and publishes one change crediting each', async () => {
    const repo = join(state.dir, 'app');
    const base = await makeRepo(repo, { 'app.txt': 'app\n' });
    plan = {
      facets: [
        { id: 'docs', title: 'Docs', prompt: 'write docs.txt', paths: ['docs/**'] },
        { id: 'tests', title: 'Tests', prompt: 'write tests.txt' },
      ],
    };

    const result = await runSwarm(deps(), spec(repo, 'planned'), state.dir);
    planned = result;

    expect(result.reason).toBeNull();
    expect(result.conclusion).toBe('success');
    expect(result.facets.map((f) => [f.id, f.conclusion])).toEqual([
      ['docs', 'success'],
      ['tests', 'success'],
    ]);
    expect(planner.prompts.at(-1)).toContain('Document and test the app');
    expect(planner.prompts.at(-1)).toContain('at most 3 independent facets');
    expect(planner.prompts.at(-1)).toContain('Keep facets small.');
    expect(worker.prompts.some((p) => p.includes('docs/**'))).toBe(true);
    expect(await gitIn(repo, 'rev-parse', 'nightshift/swarm/planned^')).toBe(base);
    expect(await gitIn(repo, 'show', 'nightshift/swarm/planned:docs.txt')).toBe('docs.txt');
    expect(await gitIn(repo, 'show', 'nightshift/swarm/planned:tests.txt')).toBe('tests.txt');
    const files = await gitIn(repo, 'ls-tree', '-r', '--name-only', 'nightshift/swarm/planned');
    expect(files.split('\n')).not.toContain('.nightshift/facets.json');
    const message = await gitIn(repo, 'log', '-1', '--format=%B', 'nightshift/swarm/planned');
    expect(message).toContain(`Nightshift-Facet: docs ${result.facets[0]!.runId}`);
    const plannerRun = await state.engine.store.getRun(result.plannerRunId!);
    expect(plannerRun.conclusion).toBe('success');
    expect(await state.engine.store.changes.forRun(plannerRun.id)).toBeNull();
  }, 300_000);

  it('records the facets and converge run as the planner’s sub-runs, audited, and `show` names them', async () => {
    const planner = await state.engine.runDetails(planned.plannerRunId!);
    const facet = await state.engine.runDetails(planned.facets[0]!.runId);
    const started = [...planned.facets.map((f) => f.runId), planned.convergeRunId!];

    expect(planner.parent).toBeNull();
    expect(planner.children.map((c) => [c.id, c.blueprint, c.depth])).toEqual([
      [started[0], 'default', 1],
      [started[1], 'default', 1],
      [started[2], 'swarm-converge', 1],
    ]);
    expect(planner.swarm).toMatchObject({
      id: planned.id,
      name: 'planned',
      state: 'completed',
      role: 'planner',
    });
    expect(planner.swarm!.runs.map((r) => [r.role, r.facet])).toEqual([
      ['planner', null],
      ['facet', 'docs'],
      ['facet', 'tests'],
      ['converge', null],
    ]);
    expect(facet.parent).toMatchObject({ id: planner.run.id, blueprint: 'swarm-plan', depth: 1 });
    expect(facet.swarm).toMatchObject({ id: planned.id, role: 'facet', facet: 'docs' });
    const spawned = await listAudit(state.engine.store.db, { runId: planner.run.id, kind: 'run.spawned' });
    expect(spawned.map((e) => e.data)).toEqual(
      planner.children.map((c) => ({
        childRunId: c.id,
        repo: planner.repo.url,
        blueprint: c.blueprint,
        depth: 1,
      })),
    );
    expect(stripVTControlCharacters(runDetails(facet))).toContain(
      `parent     ${planner.run.id} completed/success (swarm-plan; this run is at depth 1)`,
    );
    expect(stripVTControlCharacters(runDetails(planner))).toContain(
      `children   ${planner.children.map((c) => `${c.id} completed/${c.conclusion}`).join(', ')}\n`,
    );
  });

  it.each([
    [
      'an invalid id and a missing prompt',
      {
        facets: [
          { id: 'Bad Id', title: 'x', prompt: 'write a.txt' },
          { id: 'ok', title: 'y' },
        ],
      },
      ['.nightshift/facets.json facets[0].id', '.nightshift/facets.json facets[1].prompt'],
    ],
    [
      'more facets than max_facets',
      {
        facets: ['a', 'b', 'c', 'd'].map((id) => ({ id, title: id, prompt: `write ${id}.txt` })),
      },
      ['4 facets, more than the 3 allowed'],
    ],
    [
      'a duplicate id',
      {
        facets: [
          { id: 'a', title: 'a', prompt: 'write a.txt' },
          { id: 'a', title: 'b', prompt: 'write b.txt' },
        ],
      },
      ['facets[1].id: duplicate facet id `a`'],
    ],
    ['not JSON', 'facets: [a, b]', ['is not JSON']],
  ])(
    'refuses a plan with %s, naming where, and starts no facet',
    async (_, bad, expected) => {
      const repo = join(state.dir, `bad-${Math.random().toString(36).slice(2, 8)}`);
      await makeRepo(repo, { 'app.txt': 'app\n' });
      plan = bad;
      const workerTurns = worker.prompts.length;

      const result = await runSwarm(deps(), spec(repo, 'refused'), state.dir);

      expect(result.conclusion).toBe('failure');
      expect(result.facets).toEqual([]);
      for (const text of expected) expect(result.reason).toContain(text);
      expect(result.reason).toContain('planner.max_facets');
      expect(worker.prompts.length).toBe(workerTurns);
      expect(await nightshiftBranches(repo)).toEqual([]);
      const planner = await state.engine.runDetails(result.plannerRunId!);
      expect(planner.swarm).toMatchObject({
        id: result.id,
        state: 'failed',
        reason: result.reason,
        role: 'planner',
      });
      expect(planner.swarm!.runs.map((r) => r.role)).toEqual(['planner']);
      expect(planner.children).toEqual([]);
    },
    300_000,
  );

  it('continues a stopped execution with its planner’s plan: no planner run or facet starts twice', async () => {
    const repo = join(state.dir, 'stopped');
    await makeRepo(repo, { 'app.txt': 'app\n' });
    plan = {
      facets: [
        { id: 'docs', title: 'Docs', prompt: 'write docs.txt' },
        { id: 'tests', title: 'Tests', prompt: 'write tests.txt' },
      ],
    };
    const plannerTurns = planner.prompts.length;
    const stop = new AbortController();
    const onProgress = (line: string) => {
      if (line === '2 facets started') stop.abort(new Error('interrupted'));
    };
    await expect(
      runSwarm(deps(), spec(repo, 'stopped'), state.dir, { onProgress, signal: stop.signal }),
    ).rejects.toThrow('interrupted');
    // The plan changes meanwhile: the execution keeps the one its planner made.
    plan = { facets: [{ id: 'other', title: 'Other', prompt: 'write other.txt' }] };

    const result = await runSwarm(deps(), spec(repo, 'stopped'), state.dir);
    const details = await state.engine.runDetails(result.plannerRunId!);

    expect(result.conclusion).toBe('success');
    expect(result.facets.map((facet) => facet.id)).toEqual(['docs', 'tests']);
    expect(planner.prompts.length - plannerTurns).toBe(1);
    expect(details.swarm!.runs.map((run) => run.role)).toEqual(['planner', 'facet', 'facet', 'converge']);
    expect(details.children.map((child) => child.id).sort()).toEqual(
      [...result.facets.map((facet) => facet.runId), result.convergeRunId!].sort(),
    );
    expect(await gitIn(repo, 'show', 'nightshift/swarm/stopped:docs.txt')).toBe('docs.txt');
  }, 300_000);

  it('says how the planner run ended when it failed, and starts no facet', async () => {
    const repo = join(state.dir, 'no-plan');
    await makeRepo(repo, { 'app.txt': 'app\n' });
    plan = undefined;

    const result = await runSwarm(deps(), spec(repo, 'no-plan'), state.dir);

    expect(result).toMatchObject({ conclusion: 'failure', facets: [] });
    expect(result.reason).toBe(
      'the planner run ended with failure: step facets failed: the command exited with code 1: the planner wrote no .nightshift/facets.json',
    );
    expect(await nightshiftBranches(repo)).toEqual([]);
  }, 300_000);
});
