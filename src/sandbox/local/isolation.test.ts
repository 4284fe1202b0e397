import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalSandboxProvider } from './index.ts';
import type { LocalSandbox } from './sandbox.ts';

let root: string;
let sandbox: LocalSandbox;
const hostProcesses: ChildProcess[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'nightshift-isolation-'));
  await mkdir(join(root, 'base'));
  await writeFile(join(root, 'base', 'file.txt'), 'x\n');
  sandbox = await new LocalSandboxProvider().create({
    runId: 'run_0000000000isolation1',
    baseDir: join(root, 'base'),
    stateDir: join(root, 'state'),
  });
});

afterAll(async () => {
  for (const child of hostProcesses) child.kill('SIGKILL');
  await sandbox.destroy({ discard: true });
  await rm(root, { recursive: true, force: true });
});

async function sh(script: string): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
  return sandbox.exec(['sh', '-c', script]);
}

describe('local sandbox isolation', () => {
  it('runs as uid 1000 without capabilities even though Nightshift runs as root', async () => {
    const result = await sh('id -u; id -un; grep -E "^Cap(Eff|Prm|Bnd):" /proc/self/status');

    expect(result.stdout).toBe(
      '1000\nnightshift\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n',
    );
  });

  it('hides /root, host home directories and the Nightshift state dir', async () => {
    const result = await sh(`ls /root; ls /home; ls ${root}; ls ${join(root, 'state')}; echo end`);

    expect(result.stdout).toBe('nightshift\nend\n');
    expect(result.stderr).toContain("cannot access '/root'");
    expect(result.stderr).toContain(`cannot access '${root}'`);
  });

  it('gives the sandbox its own /tmp', async () => {
    const name = `nightshift-host-only-${process.pid}`;
    await writeFile(join(tmpdir(), name), 'host');

    const result = await sh(`ls /tmp/${name} 2>&1; echo inside > /tmp/${name}-inside`);

    await rm(join(tmpdir(), name));
    expect(result.stdout).toContain('No such file');
    await expect(rm(join(tmpdir(), `${name}-inside`))).rejects.toThrow(/ENOENT/);
  });

  it('shows only its own processes in /proc', async () => {
    const result = await sh('ls /proc | grep -E "^[0-9]+$"');

    const pids = result.stdout.trim().split('\n').map(Number);
    expect(pids).toContain(1);
    expect(pids.length).toBeLessThan(5);
    expect(pids).not.toContain(process.pid);
  });

  it('cannot signal a host process', async () => {
    const sleeper = spawn('sleep', ['1000'], { stdio: 'ignore' });
    hostProcesses.push(sleeper);

    const result = await sh(`kill -9 ${sleeper.pid}; echo status=$?`);

    expect(result.stdout).toMatch(/status=[1-9]/);
    expect(() => process.kill(sleeper.pid!, 0)).not.toThrow();
    expect(sleeper.exitCode).toBeNull();
  });

  it('has only a loopback interface and cannot reach the host loopback', async () => {
    let connections = 0;
    const server: Server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;

    const interfaces = await sh("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '");
    const connect = await sandbox.exec([
      'bash',
      '-c',
      `exec 3<>/dev/tcp/127.0.0.1/${port} && echo connected`,
    ]);

    await new Promise((resolve) => server.close(resolve));
    expect(interfaces.stdout).toBe('lo\n');
    expect(connect.exitCode).not.toBe(0);
    expect(connect.stdout).toBe('');
    expect(connections).toBe(0);
  });

  it('cannot create a user namespace inside', async () => {
    const result = await sh('unshare -U true; echo user=$?; unshare -r true; echo root=$?');

    expect(result.stdout).toMatch(/^user=[1-9]\d*\nroot=[1-9]\d*\n$/);
  });

  it('uses the hostname nightshift and a synthetic passwd entry', async () => {
    const result = await sh('hostname; echo $HOME; getent passwd 1000');

    expect(result.stdout).toBe(
      'nightshift\n/home/nightshift\nnightshift:x:1000:1000:Nightshift:/home/nightshift:/bin/sh\n',
    );
  });
});

describe("the sandbox's host credentials", () => {
  // A state dir whose every ancestor the sandbox's uid may enter is reached by its own path, and
  // the exec drops to the owner as it enters the holder's namespace; else it is shown at /tmp
  // first, and the drop comes after. Both must leave nothing of root's credentials.
  it.each([
    ['reached by its path', 0o711],
    ['shown at /tmp', 0o700],
  ])("keep none of Nightshift's gid or groups, state dir %s", async (_, mode) => {
    const dir = await mkdtemp(join(tmpdir(), 'nightshift-credentials-'));
    await chmod(dir, mode);
    await mkdir(join(dir, 'base'));
    const box = await new LocalSandboxProvider().create({
      runId: `run_0000000000credentials${mode.toString(8)}`,
      baseDir: join(dir, 'base'),
      stateDir: join(dir, 'state'),
    });
    try {
      // Inside, the user namespace shows any host gid as 1000, and root's groups (at least 0)
      // as the overflow gid 65534; the host shows the real ones on what the sandbox writes.
      const inside = await box.exec([
        'sh',
        '-c',
        'id -g; grep "^Groups:" /proc/self/status; touch written.txt',
      ]);
      const host = await box.view.exec(['stat', '-c', '%u:%g', 'written.txt']);

      expect(inside.stdout).toMatch(/^1000\nGroups:\s*\n$/);
      const owner = process.getuid?.() === 0 ? '61000:61000' : `${process.getuid?.()}:${process.getgid?.()}`;
      expect(host.stdout).toBe(`${owner}\n`);
    } finally {
      await box.destroy({ discard: true });
      await rm(dir, { recursive: true, force: true });
    }
  });
});
