import { describe, expect, it } from 'vitest';
import {
  failureRate,
  parseFleetSpec,
  parseSwarmSpec,
  rateInterval,
  type SpecParseResult,
  specOrThrow,
} from './parse.ts';
import { inWindow, nextOpening, stopReason } from './rollout.ts';
import type { Fleet } from './store.ts';

describe('fleet spec parser', () => {
  it('accepts a full spec and fills in defaults', () => {
    const { spec, errors } = parseFleetSpec(
      'name: bump\ntargets:\n  - repos: [a, { repo: b, values: { v: 2 } }]\n  - glob: "svc-*"\n  - file: repos.txt\nscript: "npm i x@{{inputs.v}}"\nvalues: { v: 1 }\nrollout: { rate: 10/hour, windows: [{ days: [mon], hours: "9-17" }] }\nstop_when: { failure_rate: 20% }\nchange: { branch: deps/x, title: "Bump x", draft: true }\n',
    );

    expect(errors).toEqual([]);
    expect(spec).toMatchObject({ name: 'bump', concurrency: 4, stop_when: { after: 10 } });
  });

  it.each([
    ['name: a\ntargets: []\nscript: x\n', 'targets', 'expected'],
    ['name: a\ntargets:\n  - repos: [x]\n', '', 'exactly one of `script` and `prompt`'],
    ['name: a\ntargets:\n  - repos: [x]\nscript: x\nprompt: y\n', '', 'exactly one of'],
    [
      'name: a\ntargets:\n  - glob: x\n    file: y\nscript: x\n',
      'targets[0]',
      'expected exactly one of the keys `repos`, `glob`, `file`, `github`, got `glob`, `file`',
    ],
    ['name: a\ntargets:\n  - paths: x\nscript: x\n', 'targets[0]', 'got `paths`'],
    ['name: a\ntargets:\n  - globs: x\nscript: x\n', 'targets[0]', 'got `globs` (did you mean `glob`?)'],
    ['name: a\ntargets:\n  - glob: 5\nscript: x\n', 'targets[0].glob', 'expected a string, got a number'],
    ['name: a\ntargets:\n  - repos: [{ path: x }]\nscript: x\n', 'targets[0].repos[0].path', 'unknown key'],
    [
      'name: a\ntargets:\n  - repos: [x]\nscript: x\nrollout: { rate: fast }\n',
      'rollout.rate',
      'like `10/hour`',
    ],
    [
      'name: a\ntargets:\n  - repos: [x]\nscript: x\nrollout: { windows: [{ hours: "9-09" }] }\n',
      'rollout.windows[0].hours',
      'starts and ends at the same hour, so it would never open: use `0-24` for the whole day',
    ],
    [
      'name: a\ntargets:\n  - repos: [x]\nscript: x\nstop_when: { failure_rate: 150% }\n',
      'stop_when.failure_rate',
      'must be at most 100%',
    ],
    [
      'name: a\ntargets:\n  - repos: [x]\nscript: x\nstop_when: { failure_rate: 20 }\n',
      'stop_when.failure_rate',
      'from 0 to 1 (a share like 0.2) or a percentage like `20%`',
    ],
    ['name: a\ntargets:\n  - repos: [x]\nscript: "{{nope}}"\n', 'script', 'nope'],
    [
      'name: a\ntargets:\n  - repos: [x]\nscript: "echo {{run.id}}"\n',
      'script',
      '`{{run.id}}` has no value when the fleet is applied: here you can use `repo.name`, `repo.url`, `inputs.NAME`',
    ],
    [
      'name: a\ntargets:\n  - repos: [x]\nprompt: "Fix {{environment.test}}"\n',
      'prompt',
      '`{{environment.test}}` has no value when the fleet is applied',
    ],
    [
      'name: a\ntargets:\n  - repos: [x]\nscript: x\nchange: { title: "{{prompt | firstline}}" }\n',
      'change.title',
      '`{{prompt | firstline}}` has no value when a change is published: here you can use `repo.name`, `repo.url`, `run.id`, `run.branch`, `inputs.NAME`, `environment.setup`, `environment.test`, `script`',
    ],
    [
      'name: a\ntargets:\n  - repos: [x]\nscript: x\nchange: { body: "{{gate.output}}" }\n',
      'change.body',
      '`{{gate.output}}` has no value when a change is published',
    ],
    [
      'name: a\ntargets:\n  - repos: [x]\nscript: x\nchange: { branch: "fix deps" }\n',
      'change.branch',
      '"fix deps" is not a valid branch name: use letters, digits',
    ],
    [
      'name: a\ntargets:\n  - repos: [x]\nscript: x\nrollout: { windows: [{ days: [], hours: 9-17 }] }\n',
      'rollout.windows[0].days',
      'lists no day, so the window would never open',
    ],
    [
      'name: a\ntargets:\n  - repos: [x]\nscript: x\nrollout: { rate: 0/hour }\n',
      'rollout.rate',
      'opens no change at all: give at least 1 a period',
    ],
    [
      'name: a\ntargets:\n  - repos: [x]\nscript: x\nconcurency: 3\n',
      'concurency',
      'did you mean `concurrency`',
    ],
  ])('reports %j at its path', (text, path, message) => {
    const { spec, errors } = parseFleetSpec(text);

    expect(spec).toBeUndefined();
    expect(errors.some((p) => p.path === path && p.message.includes(message))).toBe(true);
    expect(errors.every((p) => p.line !== undefined)).toBe(true);
  });

  it('accepts `{{inputs.NAME}}` given to every repo, by a default or by each repos entry, and the run in the change', () => {
    const { errors } = parseFleetSpec(
      'name: a\ntargets:\n  - repos: [{ repo: x, values: { v: 1 } }, { repo: y, values: { v: 2 } }]\nscript: "echo {{inputs.v}} {{inputs.d}} {{repo.name}}"\nvalues: { d: "" }\nchange: { title: "v{{inputs.v}}: {{script | firstline}}", body: "{{run.id}} on {{run.branch}}" }\n',
    );

    expect(errors).toEqual([]);
  });

  it('reports `{{inputs.NAME}}` that some repos have no value for, naming where they come from', () => {
    const { spec, errors } = parseFleetSpec(
      'name: a\ntargets:\n  - repos: [x, { repo: y, values: { v: 2 } }, { repo: z }]\n  - glob: "svc-*"\nscript: "echo {{inputs.v}} {{ inputs.v }}"\nchange: { body: "for {{inputs.team}}" }\n',
    );

    expect(spec).toBeUndefined();
    expect(errors.map((p) => [p.path, p.line, p.message])).toEqual([
      [
        'script',
        5,
        '`{{inputs.v}}` has no value for the repos of targets[0].repos[0], targets[0].repos[2], targets[1].glob: set `values.v` (a default for every repo), or give each of those repos its own (`{ repo: PATH, values: { v: ... } }`)',
      ],
      [
        'change.body',
        6,
        expect.stringContaining(
          '`{{inputs.team}}` has no value for the repos of targets[0].repos[0], targets[0].repos[1], targets[0].repos[2], targets[1].glob:',
        ),
      ],
    ]);
  });

  it('rejects swarm facets without work and duplicate ids', () => {
    const { errors } = parseSwarmSpec(
      'name: s\nrepo: .\ngoal: g\nfacets:\n  - id: a\n    script: x\n  - id: a\n',
    );

    expect(errors.map((p) => p.path)).toEqual(['facets[1]', 'facets[1].id']);
  });

  it('rejects a converge branch git would refuse', () => {
    const { errors } = parseSwarmSpec(
      'name: s\nrepo: .\ngoal: g\nfacets:\n  - { id: a, script: x }\nconverge: { branch: "-x" }\n',
    );

    expect(errors.map((p) => [p.path, p.message])).toEqual([
      ['converge.branch', expect.stringContaining('"-x" is not a valid branch name')],
    ]);
  });

  it.each([
    ['neither facets nor a planner', 'name: s\nrepo: .\ngoal: g\n', ''],
    [
      'both facets and a planner',
      'name: s\nrepo: .\ngoal: g\nfacets: [{ id: a, script: x }]\nplanner: { prompt: p }\n',
      '',
    ],
    [
      'a planner allowed too many facets',
      'name: s\nrepo: .\ngoal: g\nplanner: { max_facets: 500 }\n',
      'planner.max_facets',
    ],
  ])('rejects a swarm with %s', (_, text, path) => {
    const { spec, errors } = parseSwarmSpec(text);

    expect(spec).toBeUndefined();
    expect(errors.map((p) => p.path)).toEqual([path]);
  });

  it('accepts a planner instead of facets, with max_facets 8 by default', () => {
    const { spec, errors } = parseSwarmSpec('name: s\nrepo: .\ngoal: g\nplanner: { harness: builtin }\n');

    expect(errors).toEqual([]);
    expect(spec?.planner).toEqual({ harness: 'builtin', max_facets: 8 });
  });

  it('converts rates and failure rates', () => {
    expect(rateInterval('10/hour')).toBe(360_000);
    expect(rateInterval('2 / second')).toBe(500);
    expect(failureRate('20%')).toBe(0.2);
    expect(failureRate(0.5)).toBe(0.5);
  });
});

describe('specOrThrow', () => {
  it('lists every problem with its place, and points at the schema of the kind of spec', () => {
    const thrown = (parse: (text: string) => SpecParseResult<unknown>) => {
      try {
        specOrThrow(parse, 'name: x\n', 'spec.yml');
      } catch (error) {
        return error as { code: string; message: string; hint: string };
      }
      throw new Error('no error');
    };

    expect(thrown(parseSwarmSpec)).toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/^spec\.yml is not valid:\n {2}spec\.yml:1:1 /),
      hint: 'see docs/fleets.md for the spec reference (schemas/swarm.schema.json for editors)',
    });
    expect(thrown(parseFleetSpec).hint).toBe(
      'see docs/fleets.md for the spec reference (schemas/fleet.schema.json for editors)',
    );
  });
});

describe('rollout rules', () => {
  it('opens changes only inside the windows (UTC)', () => {
    const windows = [{ days: ['mon' as const], hours: '9-17' }];

    expect(inWindow(windows, new Date('2026-11-23T09:00:00Z'))).toBe(true);
    expect(inWindow(windows, new Date('2026-11-23T17:00:00Z'))).toBe(false);
    expect(inWindow(windows, new Date('2026-11-24T10:00:00Z'))).toBe(false);
    expect(inWindow([{ hours: '22-6' }], new Date('2026-11-24T03:00:00Z'))).toBe(true);
    expect(inWindow(undefined, new Date())).toBe(true);
  });

  it('finds when the windows next let a change open', () => {
    const weekdays = [{ days: ['mon' as const, 'fri' as const], hours: '9-17' }];

    // Inside a window: at once.
    expect(nextOpening(weekdays, new Date('2026-11-23T10:30:00Z'))).toEqual(new Date('2026-11-23T10:30:00Z'));
    // Monday evening: Friday at nine.
    expect(nextOpening(weekdays, new Date('2026-11-23T17:00:00Z'))).toEqual(new Date('2026-11-27T09:00:00Z'));
    expect(nextOpening([{ hours: '22-6' }], new Date('2026-11-24T12:15:00Z'))).toEqual(
      new Date('2026-11-24T22:00:00Z'),
    );
    expect(nextOpening(undefined, new Date('2026-11-24T12:15:00Z'))).toEqual(
      new Date('2026-11-24T12:15:00Z'),
    );
  });

  it('stops only after `after` runs concluded and above the failure rate', () => {
    const fleet = { spec: { stop_when: { failure_rate: '50%', after: 4 } } } as unknown as Fleet;
    const counts = (failed: number, succeeded: number) => ({
      pending: 0,
      queued: 10,
      running: 1,
      waiting: 0,
      succeeded,
      no_changes: 0,
      failed,
      cancelled: 0,
    });

    expect(stopReason(fleet, counts(3, 0))).toBeNull();
    expect(stopReason(fleet, counts(2, 2))).toBeNull();
    expect(stopReason(fleet, counts(3, 1))).toMatch(/3 of 4 runs failed \(75%, more than 50%\)/);
  });
});
