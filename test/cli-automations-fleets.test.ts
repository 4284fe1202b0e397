import type { ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, runCli, spawnCli, waitForOutput } from './support/cli.ts';
import {
  commitAll,
  makeRepo,
  nightshiftBranches,
  processesWith,
  tempDir,
  writeFiles,
} from './support/repos.ts';

/** Polls a CLI command until `check` accepts its JSON output (the server executes runs meanwhile). */
async function untilJson<T>(args: string[], env: Record<string, string>, check: (value: T) => boolean) {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const { code, stdout, stderr } = await runCli(args, env);
    if (code !== 0) throw new Error(`nightshift ${args.join(' ')} exited ${code}: ${stderr}`);
    const value = JSON.parse(stdout) as T;
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out: nightshift ${args.join(' ')} said ${stdout}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * While `nightshift serve` owns the (embedded) home, the automations and fleet commands of the
 * same home go through its socket, and with --server/--token through its HTTP API.
 */
describe('automations and fleet commands while a server owns the home', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let env: Record<string, string>;
  let automations: string;
  let server: ChildProcess;
  let url: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    for (const name of ['api', 'web'])
      await makeRepo(join(dir, 'repos', name), { 'README.md': `# ${name}\n` });
    automations = join(dir, 'automations');
    await mkdir(automations);
    await writeFile(
      join(automations, 'nightly.yml'),
      [
        'automations:',
        '  - name: nightly',
        '    trigger: { cron: "0 3 * * *", timezone: UTC }',
        '    blueprint: script',
        '    inputs: { script: "echo nightly > nightly.txt" }',
        `    targets: [${join(dir, 'repos', 'api')}]`,
        '',
      ].join('\n'),
    );
    env = { NIGHTSHIFT_HOME: join(dir, 'home'), NIGHTSHIFT_AUTOMATIONS_DIR: automations };
    server = spawnCli(['serve', '--port', '0', '--json'], env);
    [, url] = (await waitForOutput(server, /"url": "(http:[^"]+)"/, 180_000)) as string[] as [string, string];
  }, 240_000);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = finished(server);
      server.kill('SIGTERM');
      await exited;
    }
    await cleanup?.();
  });

  it('lists, applies, runs and shows the history of automations through the server', async () => {
    await writeFile(
      join(automations, 'by-hand.yml'),
      [
        'automations:',
        '  - name: by-hand',
        '    trigger: { manual: true }',
        '    blueprint: script',
        '    inputs: { script: "echo by-hand > hand.txt" }',
        `    targets: [${join(dir, 'repos', 'api')}, ${join(dir, 'repos', 'web')}]`,
        '',
      ].join('\n'),
    );

    const before = await runCli(['automations', 'list', '--json'], env);
    const applied = await runCli(['automations', 'apply', '--json'], env);
    const list = await runCli(['automations', 'list'], env);
    const fired = await runCli(['automations', 'run', 'by-hand', '--json'], env);

    expect(before.code, before.stderr).toBe(0);
    expect(JSON.parse(before.stdout).map((a: { automation: { name: string } }) => a.automation.name)).toEqual(
      ['nightly'],
    );
    expect(JSON.parse(before.stdout)[0].nextFireAt).toMatch(/T03:00:00\.000Z$/);
    expect(applied.code, applied.stderr).toBe(0);
    expect(JSON.parse(applied.stdout)).toEqual({ applied: ['by-hand', 'nightly'], removed: [] });
    expect(list.stdout).toMatch(/^by-hand\s+enabled\s+manual/m);
    expect(list.stdout).toMatch(/^nightly\s+enabled\s+cron 0 3 \* \* \* UTC\s+next 20\d\d-/m);
    expect(fired.code, fired.stderr).toBe(0);
    const fire = JSON.parse(fired.stdout);
    expect(fire).toMatchObject({ automation: 'by-hand', kind: 'manual', outcome: 'started' });
    expect(fire.runIds).toHaveLength(2);
    // The server's workers execute the runs; the history shows the fire that started them.
    const history = await untilJson<{ id: string; runIds: string[] }[]>(
      ['automations', 'history', 'by-hand', '--json'],
      env,
      (fires) => fires.length === 1,
    );
    expect(history[0]).toMatchObject({ id: fire.id, runIds: fire.runIds });
    const runs = await untilJson<{ id: string; status: string; conclusion: string }[]>(
      ['runs', '--json'],
      env,
      (all) => fire.runIds.every((id: string) => all.some((r) => r.id === id && r.status === 'completed')),
    );
    expect(runs.filter((r) => fire.runIds.includes(r.id)).map((r) => r.conclusion)).toEqual([
      'success',
      'success',
    ]);
  }, 300_000);

  it('applies a fleet, shows its status, pauses, resumes and retries it through the server', async () => {
    const spec = join(dir, 'fleet.yml');
    await writeFile(
      spec,
      [
        'name: readme',
        'targets:',
        '  - glob: repos/*',
        'blueprint: script',
        'script: "[ -f nightly.txt ] || echo fleet >> README.md"',
        '',
      ].join('\n'),
    );

    const dry = await runCli(['fleet', 'apply', spec, '--dry-run'], env);
    const applied = await runCli(['fleet', 'apply', spec, '--detach', '--json'], env);
    const paused = await runCli(['fleet', 'pause', 'readme', '--json'], env);
    const resumed = await runCli(['fleet', 'resume', 'readme', '--json'], env);
    const status = await untilJson<{
      counts: Record<string, number>;
      repos: { repo: string; state: string }[];
    }>(
      ['fleet', 'status', 'readme', '--json'],
      env,
      (s) => s.counts.queued === 0 && s.counts.running === 0 && s.counts.pending === 0,
    );
    const retried = await runCli(['fleet', 'retry', 'readme', '--failed', '--json'], env);
    // After the retry's rollout step, which records the counts of a fleet with nothing in flight.
    const list = await runCli(['fleet', 'list', '--json'], env);
    const listText = await runCli(['fleet', 'list'], env);
    const table = await runCli(['fleet', 'status', 'readme'], env);
    const burnDown = await runCli(['fleet', 'status', 'readme', '--series'], env);
    const narrowed = join(dir, 'narrowed.yml');
    await writeFile(narrowed, (await readFile(spec, 'utf8')).replace('glob: repos/*', 'repos: [repos/api]'));
    const narrowedPreview = await runCli(['fleet', 'apply', narrowed, '--dry-run'], env);

    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/would run\s+api/);
    expect(dry.stdout).toMatch(/would run\s+web/);
    expect(applied.code, applied.stderr).toBe(0);
    expect(JSON.parse(applied.stdout)).toMatchObject({ fleet: 'readme', repos: 2, create: 2 });
    expect(JSON.parse(paused.stdout).fleet.state).toBe('paused');
    expect(JSON.parse(resumed.stdout).fleet.state).toBe('active');
    expect(status.repos.map((r) => r.repo).sort()).toEqual(['api', 'web']);
    expect(status.counts.failed).toBe(0);
    expect(JSON.parse(list.stdout).map((f: { name: string }) => f.name)).toEqual(['readme']);
    expect(JSON.parse(list.stdout)[0].counts).toMatchObject({ succeeded: 2, failed: 0 });
    expect(listText.stdout).toMatch(/^readme +active · 2\/2 repos done\n/);
    expect(JSON.parse(retried.stdout)).toEqual({ retried: 0 });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/\bapi\b/);
    expect(table.stdout).not.toContain('counts over time');
    expect(burnDown.code, burnDown.stderr).toBe(0);
    expect(burnDown.stdout).toMatch(/counts over time \(from \d{4}-\d\d-\d\dT[\d:.]+Z\):\n +\+0 ms +\[/);
    expect(burnDown.stdout).toMatch(/2\/2 done · 0 running · 0 queued · 0 failed\n/);
    expect(narrowedPreview.code, narrowedPreview.stderr).toBe(0);
    expect(stripVTControlCharacters(narrowedPreview.stdout)).toMatch(
      /would remove +web +no longer targeted\nfleet readme: 1 repo \(0 new, 0 changed, 1 unchanged, 1 removed\); dry run, nothing queued\n$/,
    );
  }, 300_000);

  it('fires a fleet automation through the server: it applies the fleet spec, again only for what is new', async () => {
    const repo = join(dir, 'elsewhere', 'tidy');
    await makeRepo(repo, { 'README.md': '# tidy\n' });
    await mkdir(join(automations, 'fleets'), { recursive: true });
    await writeFile(
      join(automations, 'fleets', 'tidy.yml'),
      `name: tidy\ntargets:\n  - repos: [${repo}]\nscript: "echo tidy > tidy.txt"\n`,
    );
    await writeFile(
      join(automations, 'weekly.yml'),
      'automations:\n  - name: weekly\n    trigger: { manual: true }\n    fleet: fleets/tidy.yml\n',
    );

    const applied = await runCli(['automations', 'apply', '--json'], env);
    const list = await runCli(['automations', 'list'], env);
    const fired = await runCli(['automations', 'run', 'weekly'], env);
    const status = await untilJson<{ counts: { succeeded: number } }>(
      ['fleet', 'status', 'tidy', '--json'],
      env,
      (value) => value.counts.succeeded === 1,
    );
    const again = await runCli(['automations', 'run', 'weekly'], env);

    expect(applied.code, applied.stderr).toBe(0);
    expect(JSON.parse(applied.stdout).applied).toContain('weekly');
    expect(list.stdout).toMatch(
      new RegExp(`^weekly\\s+enabled\\s+manual\\s+applies ${join(automations, 'fleets', 'tidy.yml')}$`, 'm'),
    );
    expect(fired.code, fired.stderr).toBe(0);
    expect(fired.stdout).toMatch(
      /^fire_\w+ started: fleet tidy: 1 new, 0 changed, 0 unchanged\n {2}run_\w+ {2}\(nightshift logs/,
    );
    expect(status.counts.succeeded).toBe(1);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^fire_\w+ skipped: fleet tidy: 0 new, 0 changed, 1 unchanged\n$/);
    expect(await nightshiftBranches(repo)).toEqual(['nightshift/fleet/tidy']);
  }, 300_000);

  it('fires a swarm automation through the server, which drives the swarm to its end', async () => {
    const repo = join(dir, 'elsewhere', 'nightly-swarm');
    await makeRepo(repo, { 'README.md': '# nightly swarm\n' });
    await mkdir(join(automations, 'swarms'), { recursive: true });
    await writeFile(
      join(automations, 'swarms', 'pair.yml'),
      `name: pair\nrepo: ${repo}\ngoal: Add a pair of files\nfacets:\n  - { id: one, script: "echo 1 > one.txt" }\n  - { id: two, script: "echo 2 > two.txt" }\n`,
    );
    await writeFile(
      join(automations, 'pairs.yml'),
      'automations:\n  - name: pairs\n    trigger: { manual: true }\n    swarm: swarms/pair.yml\n',
    );

    const applied = await runCli(['automations', 'apply', '--json'], env);
    const list = await runCli(['automations', 'list'], env);
    const fired = await runCli(['automations', 'run', 'pairs'], env);
    const swarm = await untilJson<{ state: string; runs: { role: string; conclusion: string }[] }>(
      ['swarm', 'status', 'pair', '--json'],
      env,
      (value) => value.state === 'completed',
    );

    expect(applied.code, applied.stderr).toBe(0);
    expect(list.stdout).toMatch(
      new RegExp(
        `^pairs\\s+enabled\\s+manual\\s+starts swarm ${join(automations, 'swarms', 'pair.yml')}$`,
        'm',
      ),
    );
    expect(fired.code, fired.stderr).toBe(0);
    expect(fired.stdout).toMatch(
      /^fire_\w+ started: swarm pair: swm_\w+ \(nightshift swarm status pair\)\n$/,
    );
    expect(swarm.runs.map((run) => [run.role, run.conclusion])).toEqual([
      ['facet', 'success'],
      ['facet', 'success'],
      ['converge', 'success'],
    ]);
    expect(await nightshiftBranches(repo)).toContain('nightshift/swarm/pair');
  }, 300_000);

  it('has the server drive a swarm: Ctrl-C stops following, running it again follows it to its end', async () => {
    const marker = `swarm-served-${Date.now()}`;
    const spec = join(dir, 'swarm.yml');
    await writeFile(
      spec,
      [
        'name: served',
        `repo: ${join(dir, 'repos', 'web')}`,
        'goal: Add two files',
        'facets:',
        `  - { id: slow, script: "sleep 6 && echo s > slow.txt # ${marker}" }`,
        '  - { id: fast, script: "echo f > fast.txt" }',
        '',
      ].join('\n'),
    );
    const prompted = join(dir, 'prompted.yml');
    await writeFile(
      prompted,
      `name: s\nrepo: ${join(dir, 'repos', 'api')}\ngoal: tidy up\nfacets:\n  - { id: a, prompt: tidy }\n`,
    );

    const { interrupted, left: goesOn, again, runs } = await interruptedSwarm(spec, 'served', marker, env);
    const refused = await runCli(['swarm', prompted], env);

    expect(interrupted.code, interrupted.stderr).toBe(130);
    expect(interrupted.stdout).toContain(
      'swarm served: driven by the server or the process owning the home; Ctrl-C stops following, not the swarm\n',
    );
    expect(interrupted.stdout).toContain(
      `swarm served: stopped following; it goes on in the server or the process owning the home (run \`nightshift swarm ${spec}\` again to follow it)\n`,
    );
    // The server drives it: its facet goes on after the command stopped.
    expect(goesOn.length).toBeGreaterThan(0);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toContain(
      'swarm served: already driven by the server or the process owning the home; following it\n',
    );
    // The follower sees the drive's lines from its start.
    expect(again.stdout).toContain('swarm served: 2 facets started\n');
    expect(again.stdout).toMatch(
      /swarm served: one change on nightshift\/swarm\/served \([0-9a-f]{8}\), crediting 2 facets\n/,
    );
    // Two facets and one converge run: nothing started twice.
    expect(runs.filter((run) => run.trigger === 'swarm:served')).toHaveLength(3);
    // What would stop a swarm from starting comes back from the server as it would here.
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('error: swarm s: its agents cannot run, so nothing was started');
  }, 180_000);

  it('cancels a swarm the server drives: the command following it exits 11; list and status show it', async () => {
    const marker = `swarm-halted-${Date.now()}`;
    const repo = join(dir, 'elsewhere', 'halted');
    await makeRepo(repo, { 'README.md': '# halted\n' });
    const spec = join(dir, 'halted.yml');
    await writeFile(
      spec,
      [
        'name: halted',
        `repo: ${repo}`,
        'goal: Add two files',
        'facets:',
        `  - { id: slow, script: "sleep 60 && echo s > slow.txt # ${marker}" }`,
        '  - { id: fast, script: "echo f > fast.txt" }',
        '',
      ].join('\n'),
    );

    const follower = spawnCli(['swarm', spec], env);
    const followed = finished(follower);
    await waitForOutput(follower, /swarm halted: 2 facets started/);
    await waitFor(() => processesWith(marker).length > 0);
    const status = await runCli(['swarm', 'status', 'halted'], env);
    const cancel = await runCli(['swarm', 'cancel', 'halted'], env);
    const ended = await followed;
    await waitFor(() => processesWith(marker).length === 0);
    const listed = JSON.parse((await runCli(['swarm', 'list', '--json'], env)).stdout) as {
      name: string;
      state: string;
      runs: { role: string; facet: string; conclusion: string }[];
    }[];
    const again = await runCli(['swarm', 'cancel', 'halted'], env);
    const unknown = await runCli(['swarm', 'status', 'nothing'], env);
    const limited = await runCli(['swarm', 'list', '--limit', '1'], env);

    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^swarm {6}halted swm_\w+ facets\n/);
    expect(status.stdout).toMatch(/\ndriven by {2}wrk_\w+@/);
    expect(status.stdout).toMatch(/\n {13}facet slow {11}run_\w+ running\n/);
    expect(cancel.code, cancel.stderr).toBe(0);
    // Who cancelled it: the command's user, not the home's socket.
    expect(cancel.stdout).toMatch(
      new RegExp(`^swarm halted: cancelled by ${userInfo().username} \\([12] runs? cancelled\\)\n$`),
    );
    expect(ended.code, ended.stdout + ended.stderr).toBe(11);
    expect(ended.stdout).toMatch(new RegExp(`\nswarm halted: cancelled by ${userInfo().username}\n$`));
    const halted = listed.find((swarm) => swarm.name === 'halted');
    expect(halted).toMatchObject({ state: 'cancelled' });
    expect(halted!.runs.find((run) => run.facet === 'slow')).toMatchObject({ conclusion: 'cancelled' });
    expect(halted!.runs.map((run) => run.role)).toEqual(['facet', 'facet']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(
      /error: swarm halted \(swm_\w+\) has ended \(cancelled\): there is nothing to cancel/,
    );
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('error: swarm nothing does not exist');
    // The most recently updated swarm, and how to see more.
    expect(limited.stdout).toMatch(
      /^halted +cancelled .*\n\(the 1 most recently updated; `--limit` shows more, `swarm status NAME` any one\)\n$/,
    );
  }, 180_000);

  it('uses the HTTP API with --server and --token, where applying files needs an admin token', async () => {
    const token = async (scope: string) =>
      JSON.parse(
        (
          await runCli(
            ['token', 'create', '--name', `t-${scope.replace(':', '-')}`, '--scope', scope, '--json'],
            env,
          )
        ).stdout,
      ).token as string;
    const reader = await token('runs:read');
    const writer = await token('runs:write');
    const remote = (t: string) => ({
      NIGHTSHIFT_HOME: join(dir, 'client-home'),
      NIGHTSHIFT_SERVER: url,
      NIGHTSHIFT_TOKEN: t,
    });

    const list = await runCli(['automations', 'list', '--json'], remote(reader));
    const runAsReader = await runCli(['automations', 'run', 'by-hand'], remote(reader));
    const applyAsWriter = await runCli(['automations', 'apply', '--dir', automations], remote(writer));
    const fleets = await runCli(['fleet', 'list', '--json'], remote(reader));
    const forged = await runCli(['fleet', 'list', '--json'], remote('ns_forged-token'));
    const swarmAsWriter = await runCli(['swarm', join(dir, 'swarm.yml')], remote(writer));
    const swarms = await runCli(['swarm', 'list', '--json'], remote(reader));
    const cancelAsReader = await runCli(['swarm', 'cancel', 'served'], remote(reader));

    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).map((a: { automation: { name: string } }) => a.automation.name)).toContain(
      'nightly',
    );
    expect(runAsReader.code).not.toBe(0);
    expect(runAsReader.stderr).toMatch(/lacks the scope runs:write/);
    expect(applyAsWriter.code).not.toBe(0);
    expect(applyAsWriter.stderr).toMatch(/lacks the scope admin/);
    expect(fleets.code, fleets.stderr).toBe(0);
    expect(forged.code).not.toBe(0);
    // A swarm's spec names a path on the server: starting one takes an admin token.
    expect(swarmAsWriter.code).not.toBe(0);
    expect(swarmAsWriter.stderr).toMatch(/lacks the scope admin/);
    expect(swarms.code, swarms.stderr).toBe(0);
    expect(JSON.parse(swarms.stdout).map((s: { name: string }) => s.name)).toContain('served');
    expect(cancelAsReader.code).toBe(5);
    expect(cancelAsReader.stderr).toMatch(/lacks the scope runs:write/);
  }, 120_000);
});

describe('automations and fleet commands with no server (the engine in the command)', () => {
  /** Runs `fn` with a temporary directory and the environment of a home in it, removed afterwards. */
  async function inTempHome(fn: (dir: string, env: Record<string, string>) => Promise<void>) {
    const { dir, cleanup } = await tempDir();
    try {
      await fn(dir, { NIGHTSHIFT_HOME: join(dir, 'home'), NIGHTSHIFT_AUTOMATIONS_DIR: join(dir, 'none') });
    } finally {
      await cleanup();
    }
  }

  it('applies a fleet and lists automations on the home directly', async () => {
    await inTempHome(async (dir, env) => {
      await makeRepo(join(dir, 'repos', 'api'), { 'README.md': '# api\n' });
      const spec = join(dir, 'fleet.yml');
      await writeFile(spec, 'name: solo\ntargets:\n  - glob: repos/*\nblueprint: script\nscript: "true"\n');

      const typo = join(dir, 'typo.yml');
      await writeFile(typo, 'name: typo\ntargets:\n  - repos: [repos/apl, repos/api]\nscript: "true"\n');

      const preview = await runCli(['fleet', 'apply', typo, '--dry-run'], env);
      const applied = await runCli(['fleet', 'apply', spec, '--detach', '--json'], env);
      const status = await runCli(['fleet', 'status', 'solo', '--json'], env);
      const automations = await runCli(['automations', 'list', '--json'], env);

      // A target naming no repository is bad input (exit code 2), shown with where it came from.
      expect(preview.code, preview.stderr).toBe(2);
      expect(preview.stdout).toMatch(/would run\s+api/);
      expect(preview.stdout).toContain(
        `unusable    targets[0].repos[0]      ${join(dir, 'repos', 'apl')} does not exist`,
      );
      expect(preview.stdout).toContain(
        '1 target named no usable repository: fix it before applying, or it is left out',
      );
      expect(applied.code, applied.stderr).toBe(0);
      expect(JSON.parse(applied.stdout)).toMatchObject({
        fleet: 'solo',
        repos: 1,
        create: 1,
        removed: [],
        planned: [{ repo: 'api', action: 'create', why: 'new repo', inputs: { script: 'true' } }],
      });
      expect(JSON.parse(status.stdout).repos.map((r: { repo: string }) => r.repo)).toEqual(['api']);
      expect(JSON.parse(automations.stdout)).toEqual([]);
    });
  }, 180_000);

  it('retries the failed repos and follows them; Ctrl-C leaves a fleet for the next worker', async () => {
    await inTempHome(async (dir, env) => {
      await makeRepo(join(dir, 'repos', 'api'), { 'ok.txt': 'ok\n' });
      const web = join(dir, 'repos', 'web');
      await makeRepo(web, { 'README.md': '# web\n' });
      const spec = join(dir, 'fleet.yml');
      await writeFile(
        spec,
        'name: ok\ntargets:\n  - glob: repos/*\nscript: "test -f ok.txt && date > stamp"\n',
      );

      const applied = await runCli(['fleet', 'apply', spec], env);
      await writeFiles(web, { 'ok.txt': 'ok\n' });
      await commitAll(web, 'add ok.txt');
      const retried = await runCli(['fleet', 'retry', 'ok', '--failed'], env);
      const again = await runCli(['fleet', 'retry', 'ok', '--failed', '--json'], env);

      expect(applied.code, applied.stderr).toBe(10);
      expect(applied.stdout).toMatch(/succeeded 1 · failed 1/);
      expect(retried.code, retried.stdout + retried.stderr).toBe(0);
      expect(retried.stdout).toContain('fleet ok: 1 failed repo queued again\n');
      expect(retried.stdout).toMatch(/2\/2 done · 0 running · 0 queued · 0 failed\n/);
      expect(retried.stdout).toMatch(/succeeded 2\n/);
      expect(JSON.parse(again.stdout)).toEqual({ retried: 0 });

      // Ctrl-C while the fleet runs: its runs stop here and the next `fleet apply` finishes them.
      const marker = `fleet-interrupt-${Date.now()}`;
      const slow = join(dir, 'slow.yml');
      await writeFile(
        slow,
        `name: slow\ntargets:\n  - glob: repos/*\nscript: "sleep 3 && date > slow # ${marker}"\n`,
      );
      const following = spawnCli(['fleet', 'apply', slow], env);
      const left = finished(following);
      await waitForOutput(following, /2 running/);
      await waitFor(() => processesWith(marker).length > 0);
      following.kill('SIGINT');
      const interrupted = await left;
      const running = processesWith(marker);
      const status = await runCli(['fleet', 'status', 'slow'], env);
      const resumed = await runCli(['fleet', 'apply', slow], env);

      expect(interrupted.code, interrupted.stderr).toBe(130);
      expect(interrupted.stdout).toContain(
        'stopped: the runs of fleet slow that did not finish wait for the next worker (`nightshift worker`, or `nightshift fleet apply` again)\n',
      );
      expect(running).toEqual([]);
      // Nothing executes the home's runs now: the status says so rather than showing them running.
      expect(status.stdout).toMatch(/^running 2$/m);
      expect(status.stdout).toContain(
        "no process executes this home's runs now: the 2 runs shown running were cut off when the process running them stopped; `nightshift worker` (or `nightshift fleet apply` again) runs and resumes them\n",
      );
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.stdout).toMatch(/succeeded 2\n/);
      expect(await nightshiftBranches(web)).toEqual(['nightshift/fleet/ok', 'nightshift/fleet/slow']);
    });
  }, 180_000);

  it('refuses prompt fleets and swarms up front when no model provider is configured: every agent would fail', async () => {
    await inTempHome(async (dir, env) => {
      await makeRepo(join(dir, 'repos', 'api'), { 'README.md': '# api\n' });
      const spec = join(dir, 'fleet.yml');
      await writeFile(spec, 'name: agents\ntargets:\n  - glob: repos/*\nprompt: "Fix the typos"\n');
      const swarmSpec = join(dir, 'swarm.yml');
      await writeFile(
        swarmSpec,
        `name: typos\nrepo: ${join(dir, 'repos', 'api')}\ngoal: Fix typos\nfacets:\n  - { id: docs, prompt: "Fix the docs" }\n`,
      );
      const noKeys = { ...env, ANTHROPIC_API_KEY: '', OPENAI_API_KEY: '', NIGHTSHIFT_OPENAI_BASE_URL: '' };

      const refused = await runCli(['fleet', 'apply', spec], noKeys);
      const swarm = await runCli(['swarm', swarmSpec], noKeys);
      const runs = await runCli(['runs', '--json'], noKeys);
      const fleets = await runCli(['fleet', 'list', '--json'], noKeys);
      const withGateway = await runCli(['fleet', 'apply', spec, '--dry-run'], {
        ...noKeys,
        NIGHTSHIFT_OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
      });

      expect(refused.code).toBe(3);
      expect(refused.stderr).toContain(
        'fleet agents: every run would fail at its agent step, so nothing was queued: the built-in agent has no model provider: set ANTHROPIC_API_KEY or OPENAI_API_KEY',
      );
      expect(swarm.code).toBe(3);
      expect(swarm.stderr).toContain(
        'swarm typos: its agents cannot run, so nothing was started: the built-in agent has no model provider',
      );
      expect(JSON.parse(runs.stdout)).toEqual([]);
      expect(JSON.parse(fleets.stdout)).toEqual([]);
      expect(withGateway.code, withGateway.stderr).toBe(0);
      expect(withGateway.stdout).toMatch(/would run\s+api/);
    });
  }, 180_000);

  it('says who opens the changes left waiting for the rollout once the runs are done', async () => {
    await inTempHome(async (dir, env) => {
      await makeRepo(join(dir, 'repos', 'api'), { 'README.md': '# api\n' });
      await makeRepo(join(dir, 'repos', 'web'), { 'README.md': '# web\n' });
      const spec = join(dir, 'fleet.yml');
      await writeFile(
        spec,
        'name: paced\ntargets:\n  - glob: repos/*\nscript: "echo paced >> README.md"\nrollout: { rate: 1/hour }\n',
      );

      const applied = await runCli(['fleet', 'apply', spec], env);
      const status = await runCli(['fleet', 'status', 'paced'], env);

      const advice =
        '1 change waits for the rollout (its rate and windows): it opens while a worker runs, `nightshift serve` or `nightshift worker`\n';
      expect(applied.code, applied.stderr).toBe(0);
      expect(applied.stdout).toMatch(/waiting for rollout 1 · succeeded 1\n/);
      expect(applied.stdout).toContain(advice);
      expect(status.stdout).toContain(advice);
    });
  }, 180_000);

  it('continues a swarm stopped with Ctrl-C when run again, starting none of its runs twice', async () => {
    await inTempHome(async (dir, env) => {
      const repo = join(dir, 'app');
      await makeRepo(repo, { 'README.md': '# app\n' });
      const marker = `swarm-interrupt-${Date.now()}`;
      const spec = join(dir, 'swarm.yml');
      await writeFile(
        spec,
        [
          'name: files',
          `repo: ${repo}`,
          'goal: Add two files',
          'facets:',
          `  - { id: one, script: "sleep 2 && echo 1 > one.txt # ${marker}" }`,
          '  - { id: two, script: "echo 2 > two.txt" }',
          '',
        ].join('\n'),
      );

      const { interrupted, left: running, again, runs } = await interruptedSwarm(spec, 'files', marker, env);

      expect(interrupted.code, interrupted.stderr).toBe(130);
      expect(interrupted.stdout).toContain(
        `swarm files: stopped; run \`nightshift swarm ${spec}\` again to continue it (its runs resume, none starts twice)\n`,
      );
      expect(running).toEqual([]);
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expect(again.stdout).toContain('swarm files: continuing where it stopped: 2 runs already started\n');
      expect(again.stdout).toMatch(
        /swarm files: one change on nightshift\/swarm\/files \([0-9a-f]{8}\), crediting 2 facets\n/,
      );
      // Two facets and one converge run: nothing started twice.
      expect(runs.filter((run) => run.trigger === 'swarm:files')).toHaveLength(3);
    });
  }, 180_000);
});

/**
 * Starts `nightshift swarm SPEC` (swarm `name`, with a facet whose command holds `marker`),
 * presses Ctrl-C once its facets started and that command runs, then runs the spec again.
 * Returns what the interrupted command said, the processes of that facet left right after it
 * stopped, the second command's result and the home's runs.
 */
async function interruptedSwarm(spec: string, name: string, marker: string, env: Record<string, string>) {
  const swarm = spawnCli(['swarm', spec], env);
  const left = finished(swarm);
  await waitForOutput(swarm, new RegExp(`swarm ${name}: 2 facets started`));
  await waitFor(() => processesWith(marker).length > 0);
  swarm.kill('SIGINT');
  const interrupted = await left;
  const running = processesWith(marker);
  const again = await runCli(['swarm', spec], env);
  const runs = JSON.parse((await runCli(['runs', '--json'], env)).stdout) as { trigger: string }[];
  return { interrupted, left: running, again, runs };
}

async function waitFor(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
