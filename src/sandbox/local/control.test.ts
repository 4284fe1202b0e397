import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalSandboxProvider } from './index.ts';
import type { LocalSandbox } from './sandbox.ts';

let root: string;
let sandbox: LocalSandbox;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'nightshift-control-'));
  await mkdir(join(root, 'base'));
  sandbox = await new LocalSandboxProvider().create({
    runId: 'run_0000000000control001',
    baseDir: join(root, 'base'),
    stateDir: join(root, 'state'),
    limits: { memoryBytes: 64 * 1024 * 1024, pids: 64 },
  });
});

afterAll(async () => {
  await sandbox.destroy({ discard: true });
  await rm(root, { recursive: true, force: true });
});

/** Host pids whose command line contains `marker` (never matched by name). */
async function hostPidsWith(marker: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(marker)) pids.push(Number(entry));
  }
  return pids;
}

function newMarker(): string {
  return `nightshift-marker-${randomBytes(6).toString('hex')}`;
}

/** A shell script that starts a setsid daemon and a background child, both tagged, then sleeps. */
function daemonScript(marker: string): string {
  return `setsid sh -c 'sleep 1000; :' ${marker}-daemon & sh -c 'sleep 1000; :' ${marker}-child & echo started; sleep 1000`;
}

describe('local sandbox exec control', () => {
  it('streams output through onOutput as it arrives', async () => {
    const seen: string[] = [];

    const result = await sandbox.exec(['sh', '-c', 'echo one; sleep 0.2; echo two >&2; echo three'], {
      onOutput: (stream, text) => seen.push(`${stream}:${text}`),
    });

    expect(seen.join('')).toBe('stdout:one\nstderr:two\nstdout:three\n');
    expect(result).toMatchObject({ exitCode: 0, stdout: 'one\nthree\n', stderr: 'two\n' });
  });

  it('keeps the last 64 KiB of output', async () => {
    const result = await sandbox.exec(['sh', '-c', 'yes 0123456789abcdef | head -c 200000; echo; echo END']);

    const written = `${'0123456789abcdef\n'.repeat(12_000).slice(0, 200_000)}\nEND\n`;
    expect(result.stdout).toBe(written.slice(-64 * 1024));
  });

  it('passes stdin and environment variables', async () => {
    const result = await sandbox.exec(['sh', '-c', 'cat; echo " $GREETING"'], {
      stdin: 'hello from stdin',
      env: { GREETING: 'hi' },
    });

    expect(result.stdout).toBe('hello from stdin hi\n');
  });

  it('kills background processes when the command ends', async () => {
    const marker = newMarker();

    const result = await sandbox.exec(['sh', '-c', `sh -c 'sleep 1000; :' ${marker} & echo started`]);

    expect(result.stdout).toBe('started\n');
    expect(await hostPidsWith(marker)).toEqual([]);
  });

  it('kills the whole tree, setsid daemons included, when the timeout passes', async () => {
    const marker = newMarker();
    let runningBeforeTimeout: number[] = [];

    const result = await sandbox.exec(['sh', '-c', daemonScript(marker)], {
      timeoutMs: 800,
      onOutput: (_, text) => {
        if (text.includes('started')) {
          setTimeout(async () => {
            runningBeforeTimeout = await hostPidsWith(`${marker}-daemon`);
          }, 200);
        }
      },
    });

    expect(result.timedOut).toBe(true);
    expect(result.durationMs).toBeLessThan(800 + 1000);
    expect(runningBeforeTimeout.length).toBeGreaterThan(0);
    expect(await hostPidsWith(marker)).toEqual([]);
  });

  it('ends an exec within a second of its AbortSignal firing', async () => {
    const marker = newMarker();
    const controller = new AbortController();
    const started = performance.now();
    setTimeout(() => controller.abort(), 300);

    const result = await sandbox.exec(['sh', '-c', daemonScript(marker)], { signal: controller.signal });

    expect(result.cancelled).toBe(true);
    expect(result.timedOut).toBe(false);
    expect(performance.now() - started).toBeLessThan(300 + 1000);
    expect(await hostPidsWith(marker)).toEqual([]);
  });

  it('stops every running exec on killAll', async () => {
    const marker = newMarker();
    const running = sandbox.exec(['sh', '-c', daemonScript(marker)]);
    await new Promise((resolve) => setTimeout(resolve, 300));

    await sandbox.killAll();
    const result = await running;

    expect(result.exitCode === null || result.exitCode !== 0).toBe(true);
    expect(await hostPidsWith(marker)).toEqual([]);
  });

  it('reports oomKilled when a command exceeds the memory limit', async () => {
    const bomb = await sandbox.exec(['sh', '-c', 'tail /dev/zero']);
    const small = await sandbox.exec(['sh', '-c', 'echo fine']);

    expect(sandbox.limitsEnforcement).toMatch(/^cgroup-v[12]$/);
    expect(bomb.oomKilled).toBe(true);
    expect(bomb.exitCode).not.toBe(0);
    expect(small.oomKilled).toBe(false);
  });

  it('contains a fork bomb with the pids limit and still ends the exec', async () => {
    const marker = newMarker();

    const result = await sandbox.exec(
      ['sh', '-c', `bomb() { sh -c 'sleep 1000; :' ${marker} & bomb & wait; }; bomb`],
      {
        timeoutMs: 3000,
      },
    );

    expect(result.stderr).toMatch(/fork|Resource temporarily unavailable/i);
    expect(result.durationMs).toBeLessThan(3000 + 1000);
    expect(await hostPidsWith(marker)).toEqual([]);
  });
});
