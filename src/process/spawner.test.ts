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
