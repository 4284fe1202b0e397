import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../core/events.ts';
import { MAX_PLAN_BYTES, plannerBlueprint, readPlan } from './planner.ts';

/** The events a planner run's `facets` step leaves: its stdout, in chunks, among other output. */
function events(text: string): RunEvent[] {
  const at = new Date(0);
  const chunks = [text.slice(0, 7), text.slice(7)];
  return [
    { runId: 'r', seq: 1, at, type: 'step.output', data: { step: 'setup', stream: 'stdout', text: 'noise' } },
    ...chunks.map(
      (chunk, i): RunEvent => ({
        runId: 'r',
        seq: i + 2,
        at,
        type: 'step.output',
        data: { step: 'facets', stream: 'stdout', text: chunk },
      }),
    ),
    { runId: 'r', seq: 9, at, type: 'step.output', data: { step: 'facets', stream: 'stderr', text: 'warn' } },
  ];
}

describe('the planner', () => {
  it('reads the facets from the plan step’s output, joined across chunks', () => {
    const plan = { facets: [{ id: 'a', title: 'A', prompt: 'do a', paths: ['src/a/**'] }] };

    expect(readPlan(events(JSON.stringify(plan)), 3)).toEqual(plan.facets);
  });

  it.each([
    ['an unknown key', { facets: [{ id: 'a', title: 'A', prompt: 'p', script: 'rm -rf /' }] }, 'facets[0]'],
    ['no facets', { facets: [] }, 'facets'],
    ['a title too long', { facets: [{ id: 'a', title: 'x'.repeat(201), prompt: 'p' }] }, 'facets[0].title'],
  ])('refuses a plan with %s, naming the place', (_, plan, path) => {
    expect(() => readPlan(events(JSON.stringify(plan)), 3)).toThrow(`.nightshift/facets.json ${path}`);
  });

  it('refuses a plan file larger than the cap instead of reading part of it', () => {
    const big = JSON.stringify({ facets: [{ id: 'a', title: 'A', prompt: 'p'.repeat(MAX_PLAN_BYTES) }] });

    expect(() => readPlan(events(big), 3)).toThrow('larger than 256 KiB');
  });

  it('builds a blueprint with no publish step, and the planner’s harness and model', () => {
    const blueprint = plannerBlueprint({ harness: 'codex', model: 'openai:gpt-5', max_facets: 4 });

    expect(blueprint.steps.map((s) => s.kind)).toEqual(['run', 'agent', 'run']);
    expect(blueprint.steps[1]).toMatchObject({ harness: 'codex', model: 'openai:gpt-5' });
  });
});
