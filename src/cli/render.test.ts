import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { RunDetails } from '../engine/index.ts';
import type { SwarmSummary } from '../fleets/swarm-store.ts';
import type { ListedRun } from '../store/index.ts';
import { answerNote, partOf, runDetails, runsTable, swarmLine } from './render.ts';

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

describe('answerNote', () => {
  it('says how answering a Slack thread failed, and nothing once answered or without a thread', () => {
    const failed = { attempts: 2, error: 'Slack chat.postMessage failed: ratelimited', givenUp: false };

    expect(answerNote({ answer: failed, notifiedAt: null })).toBe(
      ' · answer in Slack failed 2 times (tried again later): Slack chat.postMessage failed: ratelimited',
    );
    expect(answerNote({ answer: { ...failed, attempts: 1 }, notifiedAt: null })).toContain('failed once');
    expect(answerNote({ answer: { ...failed, attempts: 8, givenUp: true }, notifiedAt: null })).toBe(
      ' · answer in Slack given up after 8 attempts: Slack chat.postMessage failed: ratelimited',
    );
    expect(answerNote({ answer: failed, notifiedAt: new Date() })).toBe('');
    expect(answerNote({ answer: { attempts: 1, error: null, givenUp: false }, notifiedAt: null })).toBe('');
    expect(answerNote({ answer: null, notifiedAt: null })).toBe('');
  });
});

describe('runDetails', () => {
  const repo = {
    id: 'repo_1',
    name: 'widgets',
    url: 'github:acme/widgets',
    defaultBranch: 'main',
    createdAt: new Date(),
  };
  const details = (run: ListedRun, answer: RunDetails['answer']): RunDetails => ({
    run,
    repo,
    change: null,
    usage: [],
    parent: null,
    children: [],
    swarm: null,
    agent: false,
    lease: null,
    answer,
  });
  const answerLine = (text: string) =>
    stripVTControlCharacters(text)
      .split('\n')
      .find((line) => line.startsWith('answer'));
  const review = {
    via: 'github',
    to: 'review on acme/widgets#12',
    answeredAt: null,
    attempts: 0,
    error: null,
    givenUp: false,
  } as const;

  it('says where the answer to what started the run goes, and where posting it stands', () => {
    const ended = listed('run_a');
    const running = { ...ended, status: 'running', conclusion: null } as const;

    expect(answerLine(runDetails(details(running, review)))).toBe(
      'answer     review on acme/widgets#12: to be posted when the run ends',
    );
    expect(
      answerLine(runDetails(details(running, { ...review, via: 'slack', to: 'reply in the Slack thread' }))),
    ).toBe('answer     reply in the Slack thread: to be posted when the runs its message started end');
    expect(answerLine(runDetails(details(ended, { ...review, attempts: 1 })))).toBe(
      'answer     review on acme/widgets#12: due (the server posts it)',
    );
    expect(
      answerLine(runDetails(details(ended, { ...review, attempts: 2, error: 'GitHub answered 502' }))),
    ).toBe('answer     review on acme/widgets#12: failed 2 times (tried again later): GitHub answered 502');
    expect(
      answerLine(
        runDetails(details(ended, { ...review, attempts: 8, error: 'GitHub answered 502', givenUp: true })),
      ),
    ).toBe('answer     review on acme/widgets#12: given up after 8 attempts: GitHub answered 502');
    expect(
      answerLine(
        runDetails(details(ended, { ...review, attempts: 1, answeredAt: new Date('2026-12-07T01:00:00Z') })),
      ),
    ).toBe('answer     review on acme/widgets#12: posted 2026-12-07T01:00:00.000Z');
    expect(answerLine(runDetails(details(ended, null)))).toBeUndefined();
  });
});

describe('swarmLine', () => {
  it('says when a swarm’s drives failed, for `swarm status` to tell how', () => {
    const swarm = {
      id: 'swm_1',
      name: 'api-v2',
      repo: '/srv/api',
      state: 'facets',
      reason: null,
      driver: null,
      durable: true,
      createdAt: new Date(0),
      updatedAt: new Date(0),
      runs: [],
      change: null,
      driveFailure: null,
    };
    const line = (s: SwarmSummary) => stripVTControlCharacters(swarmLine(s, 120_000));

    expect(line(swarm)).toBe(
      'api-v2               facets     /srv/api · 0 runs (0 succeeded) · updated 2m ago swm_1',
    );
    expect(
      line({ ...swarm, driveFailure: { message: 'the disk is full', failures: 3, nextAttemptAt: null } }),
    ).toBe(
      'api-v2               facets     /srv/api · 0 runs (0 succeeded) · drive failed 3 times · updated 2m ago swm_1',
    );
  });
});
