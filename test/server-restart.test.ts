import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { remoteClient } from '../src/cli/remote-client.ts';
import type { RunEvent } from '../src/core/events.ts';
import type { SwarmSummary } from '../src/fleets/swarm-store.ts';
import { finished, runCli, spawnCli, waitForOutput } from './support/cli.ts';
import { makeRepo, processesWith, tempDir } from './support/repos.ts';

/** Opening the embedded database takes long on a loaded 2-core box: wait generously. */
const START_MS = 240_000;

describe('nightshift serve restarted mid-stream', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let env: Record<string, string>;
  const servers: ChildProcess[] = [];

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    env = { NIGHTSHIFT_HOME: join(dir, 'home'), NIGHTSHIFT_LEASE_MS: '5000' };
    await makeRepo(join(dir, 'repo'), { 'README.md': '# restart\n' });
  });

  afterAll(async () => {
    for (const server of servers) {
      if (server.exitCode === null && server.signalCode === null) {
        const exited = finished(server);
        server.kill('SIGKILL');
        await exited;
      }
    }
    await cleanup?.();
  });

  async function startServer(port: number): Promise<{ child: ChildProcess; url: string; port: number }> {
    const child = spawnCli(['serve', '--port', String(port), '--json'], env);
    servers.push(child);
    const [, url, actual] = await waitForOutput(child, /"url": "(http:[^"]+)",\s*"port": (\d+)/, START_MS);
    return { child, url: url!, port: Number(actual) };
  }

  it(
    'loses and repeats no event for an SSE client that reconnects with Last-Event-ID',
    async () => {
      const marker = `restart-${Date.now()}`;
      const first = await startServer(0);
      const created = await runCli(
        ['token', 'create', '--name', 'follower', '--scope', 'runs:write', '--json'],
        env,
      );
      const { token } = JSON.parse(created.stdout);
      const res = await fetch(`${first.url}/api/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          repo: join(dir, 'repo'),
          script: `for i in $(seq 1 40); do echo line $i; echo $i >> counted.txt; sleep 0.25; done # ${marker}`,
        }),
      });
      expect(res.status).toBe(201);
      const run = (await res.json()) as { id: string };

      const client = remoteClient({ baseUrl: first.url, token });
      const received: RunEvent[] = [];
      let sawOutput: () => void = () => {};
      const outputSeen = new Promise<void>((resolve) => {
        sawOutput = resolve;
      });
      const following = (async () => {
        for await (const event of client.streamEvents(run.id, 0)) {
          received.push(event);
          if (event.type === 'step.output') sawOutput();
        }
      })();

      await outputSeen;
      const stopped = finished(first.child);
      first.child.kill('SIGTERM');
      const { code } = await stopped;
      const second = await startServer(first.port);
      await following;

      const stored = (await (
        await fetch(`${second.url}/api/runs/${run.id}/events`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).json()) as { events: RunEvent[] };
      const seqs = received.map((e) => e.seq);
      expect(code).toBe(0);
      expect(seqs).toEqual(stored.events.map((e) => e.seq));
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
      expect(received.map((e) => e.type)).toContain('run.attempt');
      expect(received.at(-1)).toMatchObject({ type: 'run.completed', data: { conclusion: 'success' } });
      expect(processesWith(marker)).toEqual([]);

      const exited = finished(second.child);
      second.child.kill('SIGTERM');
      expect((await exited).code).toBe(0);
    },
    3 * START_MS,
  );
  it(
    'continues a swarm the server drove when it restarts, for the command following it with --server',
    async () => {
      const spec = join(dir, 'swarm.yml');
      await writeFile(
        spec,
        [
          'name: restarted',
          `repo: ${join(dir, 'repo')}`,
          'goal: Add two files',
          'facets:',
          '  - { id: slow, script: "sleep 4 && echo s > slow.txt" }',
          '  - { id: fast, script: "echo f > fast.txt" }',
          '',
        ].join('\n'),
      );
      const first = await startServer(0);
      const created = await runCli(
        ['token', 'create', '--name', 'swarmer', '--scope', 'admin', '--json'],
        env,
      );
      const follower = spawnCli(['swarm', spec], {
        NIGHTSHIFT_HOME: join(dir, 'client-home'),
        NIGHTSHIFT_SERVER: first.url,
        NIGHTSHIFT_TOKEN: JSON.parse(created.stdout).token,
      });
      const followed = finished(follower);

      await waitForOutput(follower, /swarm restarted: 2 facets started/, START_MS);
      const stopped = finished(first.child);
      first.child.kill('SIGTERM');
      await stopped;
      const second = await startServer(first.port);
      const { code, stdout, stderr } = await followed;
      const runs = JSON.parse((await runCli(['runs', '--json'], env)).stdout) as { trigger: string }[];

      expect(code, stdout + stderr).toBe(0);
      expect(stdout).toContain('swarm restarted: continuing where it stopped: 2 runs already started\n');
      expect(stdout).toMatch(
        /swarm restarted: one change on nightshift\/swarm\/restarted \([0-9a-f]{8}\), crediting 2 facets\n/,
      );
      // Two facets and one converge run: the restarted server started none twice.
      expect(runs.filter((run) => run.trigger === 'swarm:restarted')).toHaveLength(3);

      const exited = finished(second.child);
      second.child.kill('SIGTERM');
      expect((await exited).code).toBe(0);
    },
    3 * START_MS,
  );
  it(
    'takes up a swarm it drove when it restarts, with no command following it',
    async () => {
      const spec = [
        'name: unattended',
        `repo: ${join(dir, 'repo')}`,
        'goal: Add two more files',
        'facets:',
        '  - { id: slow, script: "sleep 4 && echo s > slow-2.txt" }',
        '  - { id: fast, script: "echo f > fast-2.txt" }',
        '',
      ].join('\n');
      const first = await startServer(0);
      const created = await runCli(
        ['token', 'create', '--name', 'starter', '--scope', 'admin', '--json'],
        env,
      );
      const headers = {
        authorization: `Bearer ${JSON.parse(created.stdout).token}`,
        'content-type': 'application/json',
      };
      const started = await fetch(`${first.url}/api/swarms`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ text: spec, file: 'unattended.yml', cwd: dir }),
      });
      expect(started.status).toBe(202);
      const { id } = (await started.json()) as { id: string };
      const swarm = async (url: string) =>
        (
          (await (await fetch(`${url}/api/swarms?id=${id}`, { headers })).json()) as {
            swarms: SwarmSummary[];
          }
        ).swarms[0]!;
      while ((await swarm(first.url)).runs.length < 2)
        await new Promise((resolve) => setTimeout(resolve, 200));

      const stopped = finished(first.child);
      first.child.kill('SIGTERM');
      await stopped;
      const second = await startServer(first.port);
      let ended = await swarm(second.url);
      for (const until = Date.now() + START_MS; ended.state !== 'completed' && Date.now() < until; ) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        ended = await swarm(second.url);
      }

      expect(ended).toMatchObject({ state: 'completed', change: { branch: 'nightshift/swarm/unattended' } });
      // Two facets and one converge run: the restarted server started none twice.
      expect(ended.runs.map((run) => [run.role, run.conclusion])).toEqual([
        ['facet', 'success'],
        ['facet', 'success'],
        ['converge', 'success'],
      ]);

      const exited = finished(second.child);
      second.child.kill('SIGTERM');
      expect((await exited).code).toBe(0);
    },
    3 * START_MS,
  );
});
