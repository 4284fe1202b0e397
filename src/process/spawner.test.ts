import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runProcess } from './run.ts';
import { type HostProcess, Spawner } from './spawner.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function closed(child: HostProcess): Promise<[number | null, NodeJS.Signals | null]> {
  return new Promise((resolve) => child.once('close', (code, signal) => resolve([code, signal])));
}

describe('runProcess', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-spawner-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs a program with its cwd, env and stdin and collects its output and exit code', async () => {
    const result = await runProcess('sh', ['-c', 'pwd; echo "$GREETING"; cat; echo oops >&2; exit 3'], {
      cwd: dir,
      env: { PATH: process.env.PATH, GREETING: 'hello' },
      input: 'from stdin\n',
    });

    expect(result).toMatchObject({
      exitCode: 3,
      signal: null,
      stdout: `${dir}\nhello\nfrom stdin\n`,
      stderr: 'oops\n',
      timedOut: false,
    });
  });

  it('keeps large output whole and in order', async () => {
    const result = await runProcess('sh', ['-c', 'seq 1 200000']);

    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(200000);
    expect(lines.every((line, i) => line === String(i + 1))).toBe(true);
  });

  it('cuts stdout at maxStdoutBytes and says so', async () => {
    const result = await runProcess('sh', ['-c', 'seq 1 1000'], { maxStdoutBytes: 10 });

    expect(result.stdout).toBe('1\n2\n3\n4\n5\n');
    expect(result.truncated).toBe(true);
  });

  it('rejects with the start error when the program does not exist', async () => {
    await expect(runProcess(join(dir, 'missing-program'), [])).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('kills a detached program and everything it started when the time is up', async () => {
    const pidFile = join(dir, 'grandchild.pid');

    const result = await runProcess('sh', ['-c', `sleep 30 & echo $! > ${pidFile}; wait`], {
      detached: true,
      timeoutMs: 300,
    });

    expect(result).toMatchObject({ exitCode: null, signal: 'SIGKILL', timedOut: true });
    const grandchild = Number(execFileSync('cat', [pidFile], { encoding: 'utf8' }));
    await until(() => !alive(grandchild));
  });
});

/** Starts `sh` printing its parent's pid (the helper that started it), then running `then`. */
function reportingParent(spawner: Spawner, then: string) {
  const child = spawner.spawn('sh', ['-c', `echo $PPID; ${then}`], { stdin: 'ignore' });
  const errors: string[] = [];
  child.on('error', (error: Error) => errors.push(error.message));
  const end = closed(child);
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const helper = until(() => out.includes('\n')).then(() => Number(out.trim()));
  return { child, errors, end, helper };
}

describe('Spawner', () => {
  it('starts programs from a helper process, not from this one', async () => {
    const spawner = new Spawner();
    const child = spawner.spawn('sh', ['-c', 'echo $PPID'], { stdin: 'ignore' });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });

    const [code] = await closed(child);

    expect(code).toBe(0);
    const parent = Number(out.trim());
    expect(parent).not.toBe(process.pid);
    expect(execFileSync('ps', ['-o', 'ppid=', '-p', String(parent)], { encoding: 'utf8' }).trim()).toBe(
      String(process.pid),
    );
  });

  it('fails the programs it was running when its helper dies, then starts a new helper', async () => {
    const spawner = new Spawner();
    const first = spawner.spawn('sh', ['-c', 'echo $PPID; sleep 30'], { stdin: 'ignore' });
    const errors: Error[] = [];
    first.on('error', (error: Error) => errors.push(error));
    let out = '';
    first.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    await until(() => out.includes('\n'));
    const helper = Number(out.trim());

    process.kill(helper, 'SIGKILL');
    await closed(first);
    const again = await new Promise<number | null>((resolve) =>
      spawner.spawn('true', [], { stdin: 'ignore' }).once('close', resolve),
    );

    expect(errors.map((error) => error.message)).toEqual([expect.stringMatching(/spawner exited/)]);
    expect(again).toBe(0);
  });

  it('starts a second helper only while the first runs a program, and sends each program its own signals', async () => {
    const spawner = new Spawner({ maxHelpers: 2 });
    const sequential: number[] = [];
    for (let i = 0; i < 2; i++) {
      const child = reportingParent(spawner, '');
      sequential.push(await child.helper);
      await child.end;
    }

    const first = reportingParent(spawner, 'exec sleep 30');
    const firstHelper = await first.helper;
    const second = reportingParent(spawner, 'exec sleep 30');
    const secondHelper = await second.helper;
    // With both helpers busy, a third program shares one of them.
    const third = reportingParent(spawner, '');
    const thirdHelper = await third.helper;
    await third.end;
    second.child.kill('SIGTERM');
    const secondEnd = await second.end;
    const firstStillAlive = alive(first.child.pid!);
    first.child.kill('SIGKILL');
    const firstEnd = await first.end;

    expect(sequential[1]).toBe(sequential[0]);
    expect(firstHelper).toBe(sequential[0]);
    expect(secondHelper).not.toBe(firstHelper);
    expect([firstHelper, secondHelper]).toContain(thirdHelper);
    expect(secondEnd).toEqual([null, 'SIGTERM']);
    expect(firstStillAlive).toBe(true);
    expect(firstEnd).toEqual([null, 'SIGKILL']);
  });

  it('fails only the programs of a helper that dies', async () => {
    const spawner = new Spawner({ maxHelpers: 2 });
    const first = reportingParent(spawner, 'exec sleep 30');
    const firstHelper = await first.helper;
    const second = reportingParent(spawner, 'exec sleep 30');
    await second.helper;

    process.kill(firstHelper, 'SIGKILL');
    await first.end;
    const secondAlive = alive(second.child.pid!);
    second.child.kill('SIGKILL');
    const secondEnd = await second.end;
    process.kill(first.child.pid!, 'SIGKILL');

    expect(first.errors).toEqual([expect.stringMatching(/spawner exited/)]);
    expect(secondAlive).toBe(true);
    expect(second.errors).toEqual([]);
    expect(secondEnd).toEqual([null, 'SIGKILL']);
  });

  it('does not keep this process alive for an unreferenced program, and ends with it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nightshift-spawner-exit-'));
    try {
      const script = join(dir, 'script.mts');
      writeFileSync(
        script,
        `import { Spawner } from ${JSON.stringify(join(import.meta.dirname, 'spawner.ts'))};
const child = new Spawner().spawn('sleep', ['30'], { stdin: 'pipe' });
child.once('spawn', () => { console.log(child.pid); child.unref(); });`,
      );

      const started = Date.now();
      const out = execFileSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8' });

      expect(Date.now() - started).toBeLessThan(20_000);
      const sleeper = Number(out.trim());
      expect(sleeper).toBeGreaterThan(0);
      // The helper saw its parent go and exited; the sleeper itself is not killed (as with Node's spawn).
      process.kill(sleeper, 'SIGKILL');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
