import { execFile } from 'node:child_process';
import { chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/** The unprivileged user the test switches to when the suite runs as root (`cloudsdk` here). */
const USER_UID = 1000;
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const roots: string[] = [];

afterAll(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

/** Runs in a separate node process, as a user without privileges, and prints what it observed. */
const script = `
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalSandboxProvider } from ${JSON.stringify(fileURLToPath(new URL('./index.ts', import.meta.url)))};

const root = process.argv[2];
const warnings = [];
const provider = new LocalSandboxProvider({ log: { warn: (_meta, message) => warnings.push(message) } });
await provider.check();
const sandbox = await provider.create({
  runId: 'run_00000000000nonroot01',
  baseDir: join(root, 'base'),
  stateDir: join(root, 'state'),
  limits: { pids: 20, tmpBytes: 4 * 1024 * 1024, diskBytes: 8 * 1024 * 1024 },
  executables: { deny: ['curl'] },
});
const identity = await sandbox.exec(['sh', '-c', 'id -u; grep CapEff /proc/self/status; ls /proc | grep -cE "^[0-9]+$"']);
const write = await sandbox.exec(['sh', '-c', 'echo changed > base.txt && rm gone.txt && echo new > new.txt && ls']);
const userns = await sandbox.exec(['sh', '-c', 'unshare -U true; echo $?']);
const forks = await sandbox.exec(['sh', '-c', 'for i in $(seq 1 60); do sleep 5 & done; echo all-started'], { timeoutMs: 10000 });
const fill = await sandbox.exec(['sh', '-c', 'for f in /tmp/big big; do dd if=/dev/zero of=$f bs=1M count=16 2>&1 | grep -c "No space"; rm $f; done']);
const execs = await sandbox.exec(['sh', '-c', 'cp /usr/bin/id /tmp/t && chmod +x /tmp/t && /tmp/t -u; echo tmp=$?; curl --version; echo curl=$?; cp /usr/bin/curl c; echo copy=$?']);
const view = await sandbox.view.exec(['sh', '-c', 'cat base.txt new.txt']);
await sandbox.destroy({ discard: true });
console.log(JSON.stringify({
  uid: process.getuid(),
  enforcement: sandbox.limitsEnforcement,
  warnings,
  identity: identity.stdout,
  write: write.stdout,
  userns: userns.stdout,
  forks: { stdout: forks.stdout, stderr: forks.stderr.slice(0, 200), timedOut: forks.timedOut },
  fill: fill.stdout,
  execs: execs.stdout,
  view: view.stdout,
  base: await readFile(join(root, 'base', 'base.txt'), 'utf8'),
}));
`;

function runAsUser(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const asRoot = process.getuid?.() === 0;
  const command = asRoot
    ? [
        'setpriv',
        '--reuid',
        String(USER_UID),
        '--regid',
        String(USER_UID),
        '--clear-groups',
        '--',
        process.execPath,
      ]
    : [process.execPath];
  return new Promise((resolve, reject) => {
    execFile(
      command[0]!,
      [...command.slice(1), '--import', 'tsx', ...args],
      { cwd: repoRoot, env: { PATH: process.env.PATH, HOME: tmpdir() }, timeout: 60_000 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve({ stdout, stderr }),
    );
  });
}

describe('local sandbox without root', () => {
  it('isolates, limits and controls executables in a sandbox created by an unprivileged user', async () => {
    const root = await mkdtemp(join(tmpdir(), 'nightshift-nonroot-'));
    roots.push(root);
    await mkdir(join(root, 'base'));
    await writeFile(join(root, 'base', 'base.txt'), 'original\n');
    await writeFile(join(root, 'base', 'gone.txt'), 'to delete\n');
    await writeFile(join(root, 'run.mts'), script);
    if (process.getuid?.() === 0) {
      for (const path of [
        root,
        join(root, 'base'),
        join(root, 'base', 'base.txt'),
        join(root, 'base', 'gone.txt'),
      ]) {
        await chown(path, USER_UID, USER_UID);
      }
    }

    const { stdout } = await runAsUser([join(root, 'run.mts'), root]);

    const seen = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(seen.uid).not.toBe(0);
    expect(seen.enforcement).toBe('rlimit');
    expect(seen.warnings).toHaveLength(1);
    expect(seen.identity).toMatch(/^1000\nCapEff:\t0000000000000000\n[1-4]\n$/);
    expect(seen.write).toBe('base.txt\nnew.txt\n');
    expect(seen.userns).not.toBe('0\n');
    expect(seen.forks.stdout).not.toContain('all-started');
    expect(seen.forks.stderr).toMatch(/fork/i);
    expect(seen.fill).toBe('1\n1\n');
    expect(seen.execs).toMatch(/^tmp=126\ncurl=12[67]\ncopy=1\n$/);
    expect(seen.view).toBe('changed\nnew\n');
    expect(seen.base).toBe('original\n');
    expect(await readFile(join(root, 'base', 'gone.txt'), 'utf8')).toBe('to delete\n');
  });
});
