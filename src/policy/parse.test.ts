import { describe, expect, it } from 'vitest';
import { parsePolicy } from './parse.ts';

function parse(text: string) {
  return parsePolicy(text, { layer: 'repo', file: '.nightshift/policy.yml' });
}

describe('parsePolicy', () => {
  it('normalizes every section: bytes, ms, lower-case hosts, parsed host rules and origins', () => {
    const text = `filesystem:
  read_only: [/workspace/vendor/]
  hidden: [/etc/ssl/private]
executables:
  deny: [curl, /usr/bin/nc]
  allow_exec_from: [/workspace]
network:
  allow: [API.GitHub.com., "*.npmjs.org", "registry.yarnpkg.com:443"]
  deny: ["*.internal.example.com"]
resources: { memory: 4GiB, pids: 1024, cpu: 2, disk: 10GiB, wall_time: 30m }
budget: { tokens: 2000000, cost_usd: 5 }
publish:
  protected_paths: [".github/workflows/**"]
  allow_protected: false
  max_changed_files: 200
`;

    const { spec, errors, warnings } = parse(text);

    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
    expect(spec?.filesystem.readOnly?.map((rule) => rule.path)).toEqual(['/workspace/vendor']);
    expect(spec?.executables.deny?.map(({ executable, kind }) => ({ executable, kind }))).toEqual([
      { executable: 'curl', kind: 'name' },
      { executable: '/usr/bin/nc', kind: 'path' },
    ]);
    expect(spec?.network.allow?.map(({ from, ...rule }) => rule)).toEqual([
      { pattern: 'api.github.com', host: 'api.github.com', wildcard: false, ip: false, port: null },
      { pattern: '*.npmjs.org', host: 'npmjs.org', wildcard: true, ip: false, port: null },
      {
        pattern: 'registry.yarnpkg.com:443',
        host: 'registry.yarnpkg.com',
        wildcard: false,
        ip: false,
        port: 443,
      },
    ]);
    expect(spec?.resources.memoryBytes?.value).toBe(4 * 1024 ** 3);
    expect(spec?.resources.diskBytes?.value).toBe(10 * 1024 ** 3);
    expect(spec?.resources.wallTimeMs?.value).toBe(1_800_000);
    expect(spec?.resources.cpus?.value).toBe(2);
    expect(spec?.budget.costUsd?.value).toBe(5);
    expect(spec?.publish.maxChangedFiles?.value).toBe(200);
    expect(spec?.network.deny?.[0]?.from).toEqual({
      layer: 'repo',
      file: '.nightshift/policy.yml',
      path: 'network.deny[0]',
      line: 9,
      column: 10,
    });
  });

  it('leaves out what the file does not set, and reads `unlimited` as no limit', () => {
    const { spec, errors } = parse('resources:\n  memory: unlimited\n');

    expect(errors).toEqual([]);
    expect(spec?.resources.memoryBytes?.value).toBeNull();
    expect(spec?.resources.pids).toBeUndefined();
    expect(spec?.network.allow).toBeUndefined();
  });

  it('accepts an empty file', () => {
    expect(parse('').spec).toBeDefined();
    expect(parse('# nothing yet\n').errors).toEqual([]);
  });

  it.each([
    [
      'an unknown section',
      'netwrk:\n  allow: []\n',
      'netwrk',
      1,
      /unknown key `netwrk` \(did you mean `network`\?\)/,
    ],
    [
      'an unknown key',
      'publish:\n  allow_protect: true\n',
      'publish.allow_protect',
      2,
      /did you mean `allow_protected`/,
    ],
    [
      'a list written as a string',
      'network:\n  allow: api.github.com\n',
      'network.allow',
      2,
      /expected a list, got a string/,
    ],
    [
      'a bad host',
      'network:\n  allow:\n    - ok.example.com\n    - "bad host"\n',
      'network.allow[1]',
      4,
      /expected a host such as/,
    ],
    [
      'a wildcard inside a name',
      'network:\n  deny: ["api.*.com"]\n',
      'network.deny[0]',
      2,
      /only allowed as a leading `\*\.`/,
    ],
    [
      'a wildcard on an IP',
      'network:\n  allow: ["*.10.0.0.1"]\n',
      'network.allow[0]',
      2,
      /cannot apply to an IP address/,
    ],
    [
      'a port out of range',
      'network:\n  allow: ["example.com:70000"]\n',
      'network.allow[0]',
      2,
      /port `70000` is not a number from 1 to 65535/,
    ],
    [
      'a wildcard on a top-level domain',
      'network:\n  allow: ["*.com"]\n',
      'network.allow[0]',
      2,
      /every name under a top-level domain/,
    ],
    [
      'a bad size',
      'resources:\n  memory: 4 gigs\n',
      'resources.memory',
      2,
      /expected a size such as `512MiB`/,
    ],
    ['a zero size', 'resources:\n  disk: 0GiB\n', 'resources.disk', 2, /more than 0/],
    [
      'a bad duration',
      'resources:\n  wall_time: soon\n',
      'resources.wall_time',
      2,
      /expected a duration such as `30m`/,
    ],
    [
      'a fractional pid count',
      'resources:\n  pids: 1.5\n',
      'resources.pids',
      2,
      /expected "unlimited" or a whole number, got a number \(1\.5\)/,
    ],
    ['a negative cost', 'budget:\n  cost_usd: -1\n', 'budget.cost_usd', 2, /must be at least 0/],
    [
      'a relative path',
      'filesystem:\n  hidden: [etc/shadow]\n',
      'filesystem.hidden[0]',
      2,
      /absolute path inside the sandbox/,
    ],
    [
      'a relative executable path',
      'executables:\n  deny: [bin/nc]\n',
      'executables.deny[0]',
      2,
      /command name such as `curl`/,
    ],
    [
      'a string for a switch',
      'publish:\n  allow_protected: "yes"\n',
      'publish.allow_protected',
      2,
      /expected true or false/,
    ],
  ])('reports %s with its dot-path and line', (_case, text, path, line, message) => {
    const { spec, errors } = parse(text);

    expect(spec).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ path, line });
    expect(errors[0]?.message).toMatch(message);
  });

  it('reports every problem of a file at once, in file order', () => {
    const text = 'resources:\n  memory: lots\n  pids: many\nnetwork:\n  allow: ["a b"]\n';

    const { errors } = parse(text);

    expect(errors.map((problem) => `${problem.line} ${problem.path}`)).toEqual([
      '2 resources.memory',
      '3 resources.pids',
      '5 network.allow[0]',
    ]);
  });

  it('reports YAML syntax errors with their line', () => {
    const { errors } = parse('network:\n  allow: [a.com\n');

    expect(errors[0]?.line).toBeGreaterThan(0);
  });

  it('warns about a size that was probably written without its unit', () => {
    const { spec, warnings } = parse('resources:\n  memory: 4096\n');

    expect(spec?.resources.memoryBytes?.value).toBe(4096);
    expect(warnings).toEqual([expect.objectContaining({ path: 'resources.memory', line: 2 })]);
    expect(warnings[0]?.message).toMatch(/only 4096 bytes: write the unit, such as `4096MiB`/);
  });
});
