import { describe, expect, it } from 'vitest';
import { formatProblem } from '../blueprints/problems.ts';
import { parseAutomations } from './parse.ts';

const options = { source: '/srv/automations/nightly.yml', cwd: '/srv/automations' };

describe('parseAutomations', () => {
  it('normalizes a file of automations with defaults filled in', () => {
    const text = `automations:
  - name: nightly-deps
    trigger: { cron: "0 3 * * 1-5", timezone: Europe/Berlin }
    inputs: { prompt: "Update dependencies ({{fire.scheduled_at}})" }
    targets: [/srv/repos/api, ../web]
  - name: alerts
    trigger:
      webhook: alerts
      secrets: [{ env: ALERT_SECRET }, { secret: ALERTS_OLD }]
      repo: "{{payload.service}}"
    filters: [{ field: payload.alert.severity, in: [critical] }]
    inputs: { prompt: "Fix {{payload.alert.title}}" }
    targets: [/srv/repos/api]
    concurrency: 3
    run_as: svc-alerts
`;

    const { automations, errors } = parseAutomations(text, options);

    expect(errors).toEqual([]);
    expect(automations![0]).toMatchObject({
      name: 'nightly-deps',
      enabled: true,
      trigger: { kind: 'cron', cron: '0 3 * * 1-5', timezone: 'Europe/Berlin', overlap: 'skip' },
      concurrency: 1,
      runAs: 'automation-nightly-deps',
      targets: ['/srv/repos/api', '../web'],
      cwd: '/srv/automations',
    });
    expect(automations![1]).toMatchObject({
      trigger: { kind: 'webhook', deliveryHeader: 'X-Nightshift-Delivery', repo: '{{payload.service}}' },
      runAs: 'svc-alerts',
      concurrency: 3,
    });
  });

  it.each([
    ['a bad cron expression', 'trigger: { cron: "61 * * * *" }', 'automations[0].trigger.cron', 3],
    [
      'an unknown time zone',
      'trigger: { cron: "0 3 * * *", timezone: Mars/Olympus }',
      'automations[0].trigger.timezone',
      3,
    ],
    ['a trigger kind typo', 'trigger: { corn: "0 3 * * *" }', 'automations[0].trigger', 3],
    ['two trigger kinds', 'trigger: { cron: "0 3 * * *", manual: true }', 'automations[0].trigger', 3],
    ['a bad overlap', 'trigger: { cron: "0 3 * * *", overlap: always }', 'automations[0].trigger.overlap', 3],
    ['a webhook without secrets', 'trigger: { webhook: alerts }', 'automations[0].trigger.secrets', 3],
  ])('reports %s at its dot-path, line and column', (_, trigger, path, line) => {
    const text = `automations:\n  - name: a\n    ${trigger}\n    inputs: { prompt: hi }\n    targets: [/srv/api]\n`;

    const { automations, errors } = parseAutomations(text, options);

    expect(automations).toBeUndefined();
    expect(errors.map((e) => e.path)).toContain(path);
    expect(errors.find((e) => e.path === path)!.line).toBe(line);
  });

  it('reports every problem of a file, each with file:line:col', () => {
    const text = `automations:
  - name: Bad Name
    trigger: { manual: true }
    inputs: { prompt: "{{payload.x}}" }
    targets: []
    concurrency: 0
  - name: b
    trigger: { manual: true }
    inputs: { prompt: hi }
    targets: [/srv/api]
    tagets: [/srv/web]
`;

    const { errors } = parseAutomations(text, options);

    const lines = errors.map((problem) => formatProblem(problem, 'nightly.yml'));
    expect(lines).toEqual([
      expect.stringMatching(/^nightly\.yml:2:11 automations\[0\]\.name: expected a name/),
      expect.stringMatching(/^nightly\.yml:5:14 automations\[0\]\.targets: /),
      expect.stringMatching(/^nightly\.yml:6:18 automations\[0\]\.concurrency: /),
      expect.stringMatching(
        /^nightly\.yml:11:5 automations\[1\]\.tagets: unknown key `tagets` \(did you mean `targets`\?\)/,
      ),
    ]);
  });

  it('refuses templates naming data the trigger does not have, and unknown filter roots', () => {
    const text = `automations:
  - name: nightly
    trigger: { cron: "0 3 * * *" }
    filters: [{ field: payload.kind, equals: x }]
    inputs: { prompt: "Fix {{payload.title}}" }
    targets: [/srv/api]
`;

    const { errors } = parseAutomations(text, options);

    expect(errors.map((e) => [e.path, e.line])).toEqual([
      ['automations[0].filters[0].field', 4],
      ['automations[0].inputs.prompt', 5],
    ]);
    expect(errors[1]!.message).toContain('unknown template variable `payload`');
  });

  it("runs a repo's automations on that repo only, and says so when targets are given", () => {
    const text = `automations:
  - name: weekly
    trigger: { cron: "0 9 * * 1" }
    inputs: { prompt: tidy }
    targets: [/elsewhere]
`;

    const result = parseAutomations(text, {
      source: '/r/.nightshift/automations.yml',
      cwd: '/r',
      repo: '/r',
    });

    expect(result.automations![0]!.targets).toEqual(['/r']);
    expect(result.warnings.map((w) => w.path)).toEqual(['automations[0].targets']);
  });

  it('takes a fleet spec instead of targets and inputs, its path relative to the file', () => {
    const text = `automations:
  - name: weekly-deps
    trigger: { cron: "0 6 * * 1" }
    fleet: fleets/deps.yml
`;

    const { automations, errors } = parseAutomations(text, options);

    expect(errors).toEqual([]);
    expect(automations![0]).toMatchObject({ fleet: '/srv/automations/fleets/deps.yml', targets: [] });
    expect(
      parseAutomations(
        text.replace('    fleet: fleets/deps.yml\n', '    targets: [/a]\n    inputs: { prompt: p }\n'),
        options,
      ).automations![0]!.fleet,
    ).toBeNull();
  });

  it('refuses a fleet automation with its own targets, inputs or blueprint, in a repo file, or picking one repo', () => {
    const text = `automations:
  - name: both
    trigger: { cron: "0 6 * * 1" }
    fleet: deps.yml
    targets: [/srv/api]
    inputs: { prompt: hi }
    blueprint: default
  - name: ask
    trigger: { slack: { channels: {} } }
    fleet: deps.yml
  - name: hook
    trigger: { webhook: deps, secrets: [{ env: S }], repo: "{{payload.repo}}" }
    fleet: deps.yml
`;

    const { errors } = parseAutomations(text, options);
    const inRepo = parseAutomations(
      'automations:\n  - name: here\n    trigger: { manual: true }\n    fleet: deps.yml\n',
      { source: '/r/.nightshift/automations.yml', cwd: '/r', repo: '/r' },
    );

    expect(errors.map((e) => `${e.path} (line ${e.line}): ${e.message}`)).toEqual([
      'automations[0].targets (line 5): cannot be used with `fleet`: the fleet spec names the repos and what runs on them',
      'automations[0].inputs (line 6): cannot be used with `fleet`: the fleet spec names the repos and what runs on them',
      'automations[0].blueprint (line 7): cannot be used with `fleet`: the fleet spec names the repos and what runs on them',
      'automations[1].fleet (line 10): cannot be used with a `slack` trigger: a Slack message starts a run on one repo',
      'automations[2].trigger.repo (line 12): cannot be used with `fleet`: the fleet spec names the repos',
    ]);
    expect(inRepo.errors.map((e) => `${e.path}: ${e.message}`)).toEqual([
      "automations[0].fleet: cannot be used in a repo's automations file: put fleet automations in the server's automations directory",
    ]);
  });

  it('takes a swarm spec instead of targets and inputs, and refuses what a fleet automation refuses', () => {
    const text = `automations:
  - name: nightly-api
    trigger: { cron: "0 2 * * *" }
    swarm: swarms/api.yml
  - name: both
    trigger: { manual: true }
    fleet: deps.yml
    swarm: api.yml
  - name: own
    trigger: { manual: true }
    swarm: api.yml
    targets: [/srv/api]
  - name: ask
    trigger: { slack: { channels: {} } }
    swarm: api.yml
  - name: hook
    trigger: { webhook: api, secrets: [{ env: S }], repo: "{{payload.repo}}" }
    swarm: api.yml
`;

    const good = parseAutomations(text.split('  - name: both')[0]!, options);
    const { errors } = parseAutomations(text, options);
    const inRepo = parseAutomations(
      'automations:\n  - name: here\n    trigger: { manual: true }\n    swarm: api.yml\n',
      { source: '/r/.nightshift/automations.yml', cwd: '/r', repo: '/r' },
    );
    const viaApi = parseAutomations(
      'automations:\n  - name: api\n    trigger: { manual: true }\n    swarm: /etc/shadow\n',
      {
        source: 'api',
        cwd: '/',
      },
    );

    expect(good.errors).toEqual([]);
    expect(good.automations![0]).toMatchObject({
      swarm: '/srv/automations/swarms/api.yml',
      fleet: null,
      targets: [],
    });
    expect(errors.map((e) => `${e.path} (line ${e.line}): ${e.message}`)).toEqual([
      'automations[1].swarm (line 8): cannot be used with `fleet`: an automation applies a fleet or starts a swarm, not both',
      'automations[2].targets (line 12): cannot be used with `swarm`: the swarm spec names the repo and what runs on it',
      'automations[3].swarm (line 15): cannot be used with a `slack` trigger: a Slack message starts a run on one repo',
      'automations[4].trigger.repo (line 17): cannot be used with `swarm`: the swarm spec names its repo',
    ]);
    expect(inRepo.errors.map((e) => `${e.path}: ${e.message}`)).toEqual([
      "automations[0].swarm: cannot be used in a repo's automations file: put swarm automations in the server's automations directory",
    ]);
    expect(viaApi.errors.map((e) => e.path)).toEqual(['automations[0].swarm']);
  });

  it('refuses duplicate names and a Slack channel default that is not a target', () => {
    const text = `automations:
  - name: ask
    trigger: { slack: { channels: { C1: nope } } }
    targets: [/srv/api]
  - name: ask
    trigger: { manual: true }
    inputs: { prompt: hi }
    targets: [/srv/api]
`;

    const { errors } = parseAutomations(text, options);

    expect(errors.map((e) => e.path)).toEqual([
      'automations[0].trigger.slack.channels.C1',
      'automations[1].name',
    ]);
  });
});
