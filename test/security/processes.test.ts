import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processesWith } from '../support/repos.ts';
import {
  type AttackLab,
  type AttackResult,
  addedFile,
  execOf,
  execs,
  marker,
  openLab,
  shellQuote,
} from './support.ts';

/** The host process's state letter (`S` sleeping, `t` traced, `Z` zombie) and its tracer's pid. */
function hostState(pid: number): { state: string; tracer: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    state: /^State:\s+(\S)/m.exec(status)?.[1] ?? '?',
    tracer: Number(/^TracerPid:\s+(\d+)/m.exec(status)?.[1]),
  };
}

describe('process and privilege attacks', () => {
  let lab: AttackLab;
  /** A process of the host the sandbox tries to signal and trace; its command line is the marker. */
  const victimMarker = marker('host-victim');
  let victim: ChildProcess;
  const cleanups: (() => void)[] = [];

  beforeAll(async () => {
    victim = spawn('bash', ['-c', `exec -a ${victimMarker} sleep 1000`], { stdio: 'ignore' });
    lab = await openLab({ policy: 'resources:\n  memory: 256MiB\n  pids: 64\n' });
    expect(processesWith(victimMarker)).toEqual([victim.pid]);
  });

  afterAll(async () => {
    if (victim?.pid) process.kill(victim.pid, 'SIGKILL');
    for (const cleanup of cleanups) cleanup();
    await lab?.close();
  });

  it('survives a fork bomb: the pids limit holds it, and the run still ends', async () => {
    const bomb = marker('forkbomb');
    const argv = ['timeout', '-s', 'KILL', '20', 'bash', '-c', ':(){ :|:& };:; exec sleep 1', bomb];

    const { run, output, change, audit } = await lab.runAttack(
      `${shellQuote(argv)}\necho survived the bomb > after.txt`,
    );

    expect(run.conclusion).toBe('success');
    expect(output).toContain('fork: retry: Resource temporarily unavailable');
    expect(addedFile(change, 'after.txt')).toBe('survived the bomb');
    expect(processesWith(bomb)).toEqual([]);
    expect(execOf(audit, argv)).toMatchObject({ exitCode: 0 });
  });

  it('is killed by the memory limit when it allocates without end, and the run says so', async () => {
    const argv = ['python3', '-c', "chunks = []\nwhile True: chunks.append(b'x' * (64 << 20))"];

    const { run, audit } = await lab.runAttack(shellQuote(argv));

    expect(run.conclusion).toBe('failure');
    expect(run.reason).toBe('step script ran out of memory');
    expect(execOf(audit, argv)).toMatchObject({ exitCode: null, signal: 'SIGKILL' });
  });

  describe('reaching a host process', () => {
    const cases: [string, () => string[]][] = [
      ['kill(1) sending it SIGKILL', () => ['/usr/bin/kill', '-9', String(victim.pid)]],
      ['python os.kill sending it SIGKILL', () => ['python3', '-c', `import os; os.kill(${victim.pid}, 9)`]],
      ["strace attaching to the sandbox's pid 1", () => ['strace', '-p', '1', '-o', '/dev/null']],
      [
        'ptrace(PTRACE_ATTACH) on its host pid',
        () => [
          'python3',
          '-c',
          `import ctypes, sys; sys.exit(1 if ctypes.CDLL(None).ptrace(16, ${victim.pid}, 0, 0) else 0)`,
        ],
      ],
      ['reading its memory through /proc', () => ['cat', `/proc/${victim.pid}/mem`]],
    ];
    let attack: AttackResult;

    beforeAll(async () => {
      attack = await lab.runAttacks(cases.map(([, argv]) => `${shellQuote(argv())} > /dev/null`));
    });

    it.each(cases)('cannot signal or trace a host process: %s', (_how, argv) => {
      expect(processesWith(victimMarker)).toEqual([victim.pid]);
      expect(hostState(victim.pid!)).toEqual({ state: 'S', tracer: 0 });
      expect(execOf(attack.audit, argv())).toMatchObject({ exitCode: 1 });
    });
  });

  it('cannot leave a daemon behind that outlives the run', async () => {
    const daemon = marker('daemon');

    const { run, change, audit } = await lab.runAttack(
      [
        `setsid nohup bash -c 'exec -a ${daemon} sleep 1000' > /dev/null 2>&1 &`,
        'sleep 0.3',
        `ps -eo args | grep -c '^${daemon} 1000' > started.txt`,
      ].join('\n'),
    );

    expect(run.conclusion).toBe('success');
    expect(addedFile(change, 'started.txt')).toBe('1');
    expect(processesWith(daemon)).toEqual([]);
    expect(execOf(audit, [daemon, '1000'])).toMatchObject({ exitCode: null, signal: 'SIGKILL' });
  });

  describe('namespaces and mounts', () => {
    const cases: [string, string[], number][] = [
      ['create a user namespace with unshare -U', ['unshare', '-U', 'true'], 1],
      ['create a user namespace mapping root (unshare -r)', ['unshare', '-r', 'true'], 1],
      ['start a nested bubblewrap', ['bwrap', '--bind', '/', '/', 'true'], 1],
      ['mount a tmpfs over /workspace', ['mount', '-t', 'tmpfs', 'none', '/workspace'], 32],
      ['bind / over /tmp', ['mount', '--bind', '/', '/tmp'], 32],
      ['unmount the read-only /usr', ['umount', '-l', '/usr'], 32],
    ];
    let attack: AttackResult;

    beforeAll(async () => {
      attack = await lab.runAttacks([
        ...cases.map(([, argv]) => shellQuote(argv)),
        'touch /usr/still-read-only',
      ]);
    });

    it.each(cases)('cannot %s', (_what, argv, exitCode) => {
      expect(execOf(attack.audit, argv)).toMatchObject({ exitCode });
      expect(execOf(attack.audit, ['touch', '/usr/still-read-only'])).toMatchObject({ exitCode: 1 });
    });

    it('is told why it cannot create a user namespace', () => {
      expect(attack.output.match(/No space left on device|ENOSPC/g)).toHaveLength(3);
    });
  });

  it('gains nothing from a setuid-root program or su', async () => {
    const setuid = `/usr/local/bin/${marker('setuid-id')}`;
    copyFileSync('/usr/bin/id', setuid);
    cleanups.push(() => rmSync(setuid, { force: true }));
    chmodSync(setuid, 0o4755);

    const { change, audit } = await lab.runAttack(
      [`${setuid} -u > euid.txt`, 'su -c id root > su.txt 2>&1 || true'].join('\n'),
    );

    expect(addedFile(change, 'euid.txt')).toBe('1000');
    expect(addedFile(change, 'su.txt')).not.toMatch(/uid=0/);
    expect(execOf(audit, [setuid, '-u'])).toMatchObject({ exitCode: 0 });
    expect(execOf(audit, ['su', '-c', 'id', 'root'])).toMatchObject({ exitCode: 1 });
    expect(execs(audit).some((e) => e.argv[0] === 'id')).toBe(false);
  });
});
