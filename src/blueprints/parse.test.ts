import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { BUILTIN_BLUEPRINTS } from './builtin/index.ts';
import { parseBlueprint } from './parse.ts';

function parse(text: string) {
  return parseBlueprint(text, { source: 'test.yml' });
}

describe('parseBlueprint', () => {
  it('normalizes steps: kinds, default ids, durations in ms and filled-in defaults', () => {
    const text = `name: fix
timeout: 30m
steps:
  - run: npm ci
    timeout: 90s
    env: { CI: true, PORT: 3000 }
  - run: npm run build
    continue_on_error: true
  - agent: Fix the flaky test
  - gate: npm test
    fix: agent
  - publish: true
`;

    const { blueprint, errors, warnings } = parse(text);

    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
    expect(blueprint).toMatchObject({
      name: 'fix',
      description: '',
      timeoutMs: 1_800_000,
      source: 'test.yml',
    });
    expect(blueprint?.steps).toEqual([
      {
        id: 'run',
        kind: 'run',
        secrets: false,
        command: 'npm ci',
        timeoutMs: 90_000,
        continueOnError: false,
        env: { CI: 'true', PORT: '3000' },
      },
      {
        id: 'run-2',
        kind: 'run',
        command: 'npm run build',
        secrets: false,
        timeoutMs: null,
        continueOnError: true,
        env: {},
      },
      {
        id: 'agent',
        kind: 'agent',
        prompt: 'Fix the flaky test',
        fixPrompt: 'The check `{{gate.command}}` failed with this output:\n{{gate.output}}\nFix the problem.',
        harness: null,
        model: null,
        timeoutMs: null,
        continueOnError: false,
        env: {},
      },
      {
        id: 'gate',
        kind: 'gate',
        command: 'npm test',
        fix: 'agent',
        maxRounds: 2,
        timeoutMs: null,
        continueOnError: false,
        env: {},
      },
      {
        id: 'publish',
        kind: 'publish',
        title: '{{prompt | firstline}}',
        body: '{{prompt}}\n\n---\nMade by Nightshift run {{run.id}}.',
        timeoutMs: null,
        continueOnError: false,
        env: {},
      },
    ]);
  });

  it('keeps agent and publish settings that are given', () => {
    const text = `steps:
  - id: coder
    agent: { prompt: "{{inputs.task}}", fix_prompt: "Fix {{gate.command}}", harness: claude-code, model: opus }
  - id: lint
    gate: npm run lint
    fix: coder
    max_rounds: 0
  - publish: { title: "Lint {{repo.name}}", body: done }
`;

    const { blueprint, errors } = parse(text);

    expect(errors).toEqual([]);
    expect(blueprint?.name).toBe('test');
    expect(blueprint?.steps).toMatchObject([
      {
        id: 'coder',
        prompt: '{{inputs.task}}',
        fixPrompt: 'Fix {{gate.command}}',
        harness: 'claude-code',
        model: 'opus',
      },
      { id: 'lint', fix: 'coder', maxRounds: 0 },
      { id: 'publish', title: 'Lint {{repo.name}}', body: 'done' },
    ]);
  });

  it('gives an unnamed step an id that an explicit id elsewhere does not take', () => {
    const { blueprint } = parse('steps:\n  - run: a\n  - id: run\n    run: b\n');

    expect(blueprint?.steps.map((step) => step.id)).toEqual(['run-2', 'run']);
  });

  it.each([
    ['missing steps', 'name: x\n', 'steps', 1, 'is required'],
    ['an empty list of steps', 'name: x\nsteps: []\n', 'steps', 2, 'at least one step'],
    [
      'two kinds in one step',
      'steps:\n  - run: a\n  - run: b\n    agent: c\n',
      'steps[1]',
      3,
      'has `run` and `agent`',
    ],
    [
      'no kind in a step',
      'steps:\n  - id: a\n    gat: make\n',
      'steps[0]',
      2,
      'did you mean `gate` instead of `gat`',
    ],
    [
      'an unknown top-level key',
      'name: x\ntimout: 5m\nsteps:\n  - run: a\n',
      'timout',
      2,
      'did you mean `timeout`',
    ],
    [
      'an unknown step key',
      'steps:\n  - gate: make\n    max_round: 3\n',
      'steps[0].max_round',
      3,
      'did you mean `max_rounds`',
    ],
    [
      'a swapped-letter key',
      'steps:\n  - publish:\n      titel: x\n',
      'steps[0].publish.titel',
      3,
      'did you mean `title`',
    ],
    ['a key of another kind', 'steps:\n  - run: a\n    fix: b\n', 'steps[0].fix', 3, 'belongs to gate steps'],
    [
      'a bad duration',
      'steps:\n  - run: a\n    timeout: soon\n',
      'steps[0].timeout',
      3,
      'expected a duration',
    ],
    ['a zero duration', 'timeout: 0m\nsteps:\n  - run: a\n', 'timeout', 1, 'more than 0'],
    [
      'a command that is not a string',
      'steps:\n  - run: [a, b]\n',
      'steps[0].run',
      2,
      'expected a string, got a list',
    ],
    ['a bad id', 'steps:\n  - id: Setup\n    run: a\n', 'steps[0].id', 2, 'lower-case'],
    [
      'duplicate ids',
      'steps:\n  - id: a\n    run: x\n  - id: a\n    run: y\n',
      'steps[1].id',
      4,
      'duplicate id `a`',
    ],
    [
      'fix naming a run step',
      'steps:\n  - run: x\n  - gate: y\n    fix: run\n',
      'steps[1].fix',
      4,
      '`run` is a run step',
    ],
    [
      'fix naming a later agent',
      'steps:\n  - gate: y\n    fix: agent\n  - agent: z\n',
      'steps[0].fix',
      3,
      'comes after this gate',
    ],
    [
      'fix naming no step',
      'steps:\n  - agent: z\n  - gate: y\n    fix: agnt\n',
      'steps[1].fix',
      4,
      'did you mean `agent`',
    ],
    [
      'max_rounds out of range',
      'steps:\n  - agent: z\n  - gate: y\n    fix: agent\n    max_rounds: 11\n',
      'steps[1].max_rounds',
      5,
      'whole number from 0 to 10',
    ],
    [
      'publish not last',
      'steps:\n  - publish: true\n  - run: a\n',
      'steps[0].publish',
      2,
      'must be the last step',
    ],
    [
      'two publish steps',
      'steps:\n  - publish: true\n  - publish: true\n',
      'steps[1].publish',
      3,
      'only one publish step',
    ],
    ['publish: false', 'steps:\n  - publish: false\n', 'steps[0].publish', 2, 'expected true or a mapping'],
    [
      'an unknown template variable',
      'steps:\n  - run: echo {{promt}}\n',
      'steps[0].run',
      2,
      'did you mean `prompt`',
    ],
    [
      'an unknown template filter',
      'steps:\n  - agent: "{{prompt | first}}"\n',
      'steps[0].agent',
      2,
      'unknown filter `first`',
    ],
    ['an unclosed template', 'steps:\n  - run: echo {{prompt\n', 'steps[0].run', 2, 'not closed'],
    ['a YAML syntax error', 'steps:\n  - run: a\n  - run: [b\n', '', 4, 'Flow sequence'],
    ['a duplicate YAML key', 'name: a\nname: b\nsteps:\n  - run: a\n', '', 2, 'unique'],
    ['a list at the top', '- run: a\n', '', 1, 'expected a mapping'],
  ])('reports %s with its dot-path and line', (_case, text, path, line, message) => {
    const { blueprint, errors } = parse(text);

    expect(blueprint).toBeUndefined();
    expect(errors).toContainEqual(
      expect.objectContaining({ path, line, message: expect.stringContaining(message) }),
    );
  });

  it('reports every problem at once, in file order', () => {
    const text = 'timout: 5m\nsteps:\n  - run: a\n    agent: b\n  - gate: c\n    fix: nope\n';

    const { errors } = parse(text);

    expect(errors.map((problem) => `${problem.line} ${problem.path}`)).toEqual([
      '1 timout',
      '3 steps[0]',
      '6 steps[1].fix',
    ]);
  });

  it('warns about gate variables outside a fix prompt and max_rounds without fix', () => {
    const text = 'steps:\n  - run: echo {{gate.output}}\n  - gate: make\n    max_rounds: 3\n';

    const { blueprint, warnings } = parse(text);

    expect(blueprint).toBeDefined();
    expect(warnings).toEqual([
      expect.objectContaining({
        path: 'steps[0].run',
        line: 2,
        message: expect.stringContaining('fix_prompt'),
      }),
      expect.objectContaining({
        path: 'steps[1].max_rounds',
        line: 4,
        message: 'has no effect without `fix`',
      }),
    ]);
  });
});

describe('built-in blueprints', () => {
  it.each(Object.entries(BUILTIN_BLUEPRINTS))('%s parses without errors or warnings', (name, text) => {
    const { blueprint, errors, warnings } = parseBlueprint(text, { source: `builtin:${name}` });

    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
    expect(blueprint?.name).toBe(name);
  });

  it.each(Object.entries(BUILTIN_BLUEPRINTS))(
    '%s is shown as shipped in docs/blueprints.md',
    async (_name, text) => {
      const docs = await readFile(new URL('../../docs/blueprints.md', import.meta.url), 'utf8');

      expect(docs).toContain(`\`\`\`yaml\n${text}\`\`\``);
    },
  );

  it('default sets up, runs an agent, gates on the tests with 2 fix rounds, and publishes', () => {
    const { blueprint } = parseBlueprint(BUILTIN_BLUEPRINTS.default!, { source: 'builtin:default' });

    expect(blueprint?.steps).toMatchObject([
      { kind: 'run', command: '{{environment.setup}}' },
      { kind: 'agent', id: 'agent', prompt: '{{prompt}}' },
      { kind: 'gate', command: '{{environment.test}}', fix: 'agent', maxRounds: 2 },
      { kind: 'publish' },
    ]);
  });

  it('script sets up, runs the script, gates on the tests without fixing, and publishes', () => {
    const { blueprint } = parseBlueprint(BUILTIN_BLUEPRINTS.script!, { source: 'builtin:script' });

    expect(blueprint?.steps).toMatchObject([
      { kind: 'run', command: '{{environment.setup}}' },
      { kind: 'run', command: '{{script}}' },
      { kind: 'gate', command: '{{environment.test}}', fix: null },
      { kind: 'publish', title: '{{script | firstline}}' },
    ]);
  });
});
