import { describe, expect, it } from 'vitest';
import type { ListedRun } from '../store/index.ts';
import { partOf, runsTable } from './render.ts';

function listed(id: string, related: Partial<Pick<ListedRun, 'parent' | 'swarm'>> = {}): ListedRun {
  return {
    id,
    repoId: 'repo_1',
    blueprint: 'script',
    inputs: { script: 'make fmt' },
    status: 'completed',
    conclusion: 'success',
    reason: null,
    attempt: 1,
    priority: 0,
    timeoutMs: 60_000,
    baseRef: null,
    baseCommit: null,
    branch: null,
    trigger: 'cli',
    author: null,
    continues: null,
    createdAt: new Date(),
    startedAt: null,
    finishedAt: null,
    cancelRequestedAt: null,
    parent: null,
    swarm: null,
    ...related,
  };
}

const planner = {
  id: 'run_01m95plannerxxxx1a2b3c4d',
  blueprint: 'planner',
  status: 'completed',
  conclusion: 'success',
  depth: 1,
} as const;

describe('runsTable', () => {
  it('names what each run is part of: its swarm and role, and the run that started it', () => {
    const facet = listed('run_facet', {
      parent: planner,
      swarm: { id: 'swm_1', name: 'api-v2', role: 'facet', facet: 'docs' },
    });
    const sub = listed('run_sub', { parent: planner });
    const plain = listed('run_plain');

    const table = runsTable([facet, sub, plain]).split('\n');

    expect(partOf(facet)).toBe('facet docs in swarm api-v2, sub-run of 1a2b3c4d');
    expect(table[0]).toMatch(/CREATED\s+PART OF\s+TASK/);
    expect(table[1]).toContain('facet docs in swarm api-v2, sub-run of 1a2b3c4d');
    expect(table[2]).toContain('sub-run of 1a2b3c4d');
    expect(table[3]).toMatch(/ago\s+-\s+make fmt/);
  });

  it('has no PART OF column when no run is part of anything', () => {
    expect(runsTable([listed('run_a'), listed('run_b')])).not.toContain('PART OF');
  });
});
