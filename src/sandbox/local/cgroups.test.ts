import { spawn } from 'node:child_process';
import { access, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTimeOf } from '../../process/index.ts';
import {
  type CgroupHost,
  createExecCgroup,
  createSandboxCgroup,
  detectCgroupHost,
  parseCgroupMounts,
  parseOwnCgroups,
  removeCgroup,
  sandboxCgroupName,
  sweepOrphanCgroups,
} from './cgroups.ts';
import { LocalSandboxProvider, type SandboxLogger } from './index.ts';
import type { LocalSandbox } from './sandbox.ts';

const roots: string[] = [];
const sandboxes: LocalSandbox[] = [];

afterEach(async () => {
  for (const sandbox of sandboxes.splice(0)) await sandbox.destroy({ discard: true });
  for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
});

async function makeSpec(name: string) {
  const root = await mkdtemp(join(tmpdir(), 'nightshift-cgroups-'));
  roots.push(root);
  await mkdir(join(root, 'base'));
  return { runId: `run_0000000000000${name}`, baseDir: join(root, 'base'), stateDir: join(root, 'state') };
}

describe('cgroup discovery', () => {
  it('reads cgroup mounts from mountinfo, v1 and v2', () => {
    const mountinfo = [
      '30 25 0:26 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory',
      '31 25 0:27 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids',
      '32 25 0:28 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate',
      '33 25 0:29 / /proc rw - proc proc rw',
    ].join('\n');

    const mounts = parseCgroupMounts(mountinfo);

    expect(mounts.map((m) => [m.point, m.fstype, m.superOptions.at(-1)])).toEqual([
      ['/sys/fs/cgroup/memory', 'cgroup', 'memory'],
      ['/sys/fs/cgroup/pids', 'cgroup', 'pids'],
      ['/sys/fs/cgroup/unified', 'cgroup2', 'nsdelegate'],
    ]);
  });

  it('reads the own cgroup of each controller', () => {
    const own = parseOwnCgroups(
      '4:memory:/process_api/abc\n2:cpu,cpuacct:/x\n1:name=systemd:/\n0::/user.slice\n',
    );

    expect(Object.fromEntries(own)).toEqual({
      memory: '/process_api/abc',
      cpu: '/x',
      cpuacct: '/x',
      systemd: '/',
      '': '/user.slice',
    });
  });

  it('finds a writable cgroup on this host when running as root', async () => {
    const host = await detectCgroupHost();

    if (process.getuid?.() === 0) expect(host.kind).not.toBe('rlimit');
    if (host.kind === 'cgroup-v1') {
      await access(host.memory);
      await access(host.pids);
    }
  });
});

describe('sandbox cgroups', () => {
  it('creates one cgroup per sandbox with its limits and removes it on destroy', async () => {
    const provider = new LocalSandboxProvider();
    const sandbox = await provider.create({ ...(await makeSpec('cgroup01')), limits: { pids: 10 } });
    const host = await detectCgroupHost();

    const result = await sandbox.exec(['sh', '-c', 'cat /proc/self/cgroup']);
    await sandbox.destroy();

    expect(sandbox.limitsEnforcement).toBe(host.kind);
    expect(result.stdout).not.toBe('');
    if (host.kind === 'cgroup-v1') {
      const made = async (root: string) =>
        (await readdir(root)).filter((name) => name.startsWith(sandbox.id));
      expect([...(await made(host.pids)), ...(await made(host.memory))]).toEqual([]);
    }
  });

  it.runIf(process.getuid?.() === 0)(
    'removes the cgroups of sandboxes whose process died, killing what is left in them, and no other',
    async () => {
      const host = (await detectCgroupHost()) as Exclude<CgroupHost, { kind: 'rlimit' }>;
      // A process that has exited: its pid and start time name nothing that runs.
      const gone = spawn('sleep', ['60']);
      const goneStart = await waitFor(() => startTimeOf(gone.pid!));
      gone.kill('SIGKILL');
      await new Promise((resolve) => gone.once('exit', resolve));
      const orphan = await createSandboxCgroup(host, `sbx_sweep01orphan.${gone.pid}-${goneStart}`, {
        pids: 10,
      });
      const live = await createSandboxCgroup(host, sandboxCgroupName('sbx_sweep02live'), {});
      const foreign = await createSandboxCgroup(host, 'sbx_sweep03foreign', {});
      // A process left running in the dead sandbox's exec cgroup.
      const left = spawn('sleep', ['600'], { stdio: 'ignore' });
      const leftExit = new Promise((resolve) => left.once('exit', (_code, signal) => resolve(signal)));
      for (const dir of await createExecCgroup(orphan, 'exec-1')) {
        await writeFile(join(dir, 'cgroup.procs'), String(left.pid));
      }
      try {
        const swept = await sweepOrphanCgroups(host);

        expect(swept).toBe(1);
        expect(await leftExit).toBe('SIGKILL');
        for (const dir of orphan.dirs) await expect(access(dir)).rejects.toThrow(/ENOENT/);
        for (const dir of [...live.dirs, ...foreign.dirs]) await access(dir);
      } finally {
        left.kill('SIGKILL');
        for (const dir of [...orphan.dirs, ...live.dirs, ...foreign.dirs]) await removeCgroup(dir);
      }
    },
  );

  it('falls back to rlimits when cgroups are off, says so once, and still caps memory', async () => {
    const warnings: string[] = [];
    const log: SandboxLogger = { warn: (_meta, message) => warnings.push(message) };
    const provider = new LocalSandboxProvider({ cgroups: 'off', log });
    const sandbox = await provider.create({
      ...(await makeSpec('rlimit01')),
      limits: { memoryBytes: 64 * 1024 * 1024 },
    });
    sandboxes.push(sandbox, await provider.create(await makeSpec('rlimit02')));

    const bomb = await sandbox.exec(['sh', '-c', 'tail /dev/zero']);
    const fine = await sandbox.exec(['sh', '-c', 'echo ok']);

    expect(await provider.limitsEnforcement()).toBe('rlimit');
    expect(sandbox.limitsEnforcement).toBe('rlimit');
    expect(bomb.exitCode).not.toBe(0);
    expect(bomb.stderr).toMatch(/memory/i);
    expect(fine.stdout).toBe('ok\n');
    expect(warnings).toEqual([
      'sandbox limits fall back to rlimits: memory is capped per process (address space), processes per user',
    ]);
  });
});

async function waitFor<T>(read: () => T | null): Promise<T> {
  for (let tries = 0; tries < 200; tries++) {
    const value = read();
    if (value !== null) return value;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('not ready in time');
}
