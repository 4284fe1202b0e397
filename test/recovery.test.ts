import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectCgroupHost } from '../src/sandbox/local/cgroups.ts';
import { finished, runCli, spawnCli, waitForOutput } from './support/cli.ts';
import { makeRepo, nightshiftBranches, processesWith } from './support/repos.ts';

interface Event {
  seq: number;
  type: string;
  data: Record<string, unknown>;
}

describe('an engine killed with SIGKILL mid-run', () => {
  let dir: string;
  let env: Record<string, string>;
  let repo: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nightshift-recovery-'));
    env = { NIGHTSHIFT_HOME: join(dir, 'home'), NIGHTSHIFT_CONCURRENCY: '2' };
    repo = join(dir, 'repo');
    await makeRepo(repo, { 'README.md': '# recovery\n' });
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  // Two engines, a SIGKILL and a lease expiry: slow on a loaded 2-core machine, hence the longer limit.
  it('finishes every run after a restart, with no duplicate branch and no gap in any event sequence', {
    timeout: 180_000,
  }, async () => {
    const marker = `recovery-${Date.now()}`;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const queued = await runCli(
        [
          'run',
          '--repo',
          repo,
          '--detach',
          '--json',
          '--script',
          `sleep 3 # ${marker}\necho ${i} > out-${i}.txt`,
        ],
        env,
      );
      expect(queued.code).toBe(0);
      ids.push(JSON.parse(queued.stdout).id);
    }

    const first = spawnCli(['worker', '--until-idle'], env);
    const firstDone = finished(first);
    await waitForOutput(first, /worker started/);
    await waitUntil(() => processesWith(marker).length >= 2);
    // Counted before the kill: once the engine is gone, any process's sweep (another test's
    // worker, say) may remove its cgroups.
    const leftBehind = await cgroupsMadeBy(first.pid!);
    first.kill('SIGKILL');
    const killed = await firstDone;
    await waitUntil(() => processesWith(marker).length === 0, 5_000);
    // Until a worker resumes it, `show` says a run cut off is not executing, not just `running`.
    const cutOff = (
      JSON.parse((await runCli(['runs', '--json'], env)).stdout) as { id: string; status: string }[]
    )
      .filter((run) => ids.includes(run.id))
      .find((run) => run.status !== 'queued' && run.status !== 'completed');
    const shown = await runCli(['show', cutOff!.id], env);

    const second = await runCli(['worker', '--until-idle'], env);
    const runs = JSON.parse((await runCli(['runs', '--json'], env)).stdout) as {
      id: string;
      conclusion: string;
      attempt: number;
    }[];
    const histories = await Promise.all(
      ids.map(async (id) => {
        const logs = await runCli(['logs', id, '--json'], env);
        expect(logs.code, logs.stdout + logs.stderr).toBe(0);
        return logs.stdout
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as Event);
      }),
    );

    expect(killed.code).toBeNull();
    expect(shown.stdout).toContain(
      "not executing now: the process running it stopped (no process executes this home's runs); `nightshift worker` resumes it\n",
    );
    expect(second.code).toBe(0);
    expect(runs.filter((r) => ids.includes(r.id)).map((r) => r.conclusion)).toEqual([
      'success',
      'success',
      'success',
    ]);
    for (const events of histories) {
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      expect(events.filter((e) => e.type === 'run.completed')).toHaveLength(1);
    }
    const resumed = histories.filter((events) => events.some((e) => e.type === 'run.attempt'));
    expect(resumed.length).toBeGreaterThanOrEqual(2);
    // The second worker says how each run it finished ended, one line a run.
    for (const [i, id] of ids.entries()) {
      if (resumed.includes(histories[i]!)) expect(second.stdout).toContain(`${id}  repo  success  (cli)\n`);
    }
    for (const events of resumed) {
      expect(events.find((e) => e.type === 'run.attempt')?.data).toMatchObject({ attempt: 2 });
    }
    const branches = await nightshiftBranches(repo);
    expect(branches).toHaveLength(3);
    expect(new Set(branches).size).toBe(3);
    // The killed engine's sandbox cgroups are removed by the next worker (where there are cgroups).
    if ((await detectCgroupHost()).kind !== 'rlimit') expect(leftBehind.length).toBeGreaterThanOrEqual(2);
    expect(await cgroupsMadeBy(first.pid!)).toEqual([]);
  });
});

/** The sandbox cgroups (every hierarchy) that the process `pid` made. */
async function cgroupsMadeBy(pid: number): Promise<string[]> {
  const host = await detectCgroupHost();
  if (host.kind === 'rlimit') return [];
  const roots = host.kind === 'cgroup-v2' ? [host.root] : [host.memory, host.pids];
  return roots.flatMap((root) => readdirSync(root).filter((name) => name.includes(`.${pid}-`)));
}

async function waitUntil(check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
