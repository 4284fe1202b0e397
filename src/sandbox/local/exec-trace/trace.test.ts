import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execAuditEntries } from '../../../audit/exec.ts';
import type { ExecTrace } from '../../types.ts';
import { execTraceArgs } from './command.ts';
import { parseExecTrace } from './parse.ts';

const run = promisify(execFile);
const SANDBOX = [
  'bwrap',
  '--unshare-all',
  '--unshare-user',
  '--uid',
  '1000',
  '--gid',
  '1000',
  '--disable-userns',
  '--cap-drop',
  'ALL',
  '--die-with-parent',
  '--new-session',
  '--ro-bind',
  '/usr',
  '/usr',
  '--symlink',
  'usr/bin',
  '/bin',
  '--symlink',
  'usr/lib',
  '/lib',
  '--symlink',
  'usr/lib64',
  '/lib64',
  '--tmpfs',
  '/tmp',
  '--dir',
  '/workspace',
  '--proc',
  '/proc',
  '--dev',
  '/dev',
  '--chdir',
  '/workspace',
  '--setenv',
  'PATH',
  '/usr/bin',
  '--',
];
const SCRIPT = [
  'cd /tmp && /bin/sh -c "exit 3"',
  '(cd /usr && /usr/bin/pwd >/dev/null)',
  '/usr/bin/sleep 5 & /usr/bin/sleep 0.2; kill -9 $!',
  'wait',
  'exec /usr/bin/true',
].join('; ');

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nightshift-exec-trace-'));
  await chmod(dir, 0o777);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs argv under the tracer (optionally as uid 1000), returning its exit code and the parsed trace. */
async function traced(
  name: string,
  argv: string[],
  options: { asUser?: boolean; launcher?: string; cwd?: string } = {},
) {
  const output = join(dir, `${name}.trace`);
  const drop = options.asUser
    ? ['setpriv', '--reuid', '1000', '--regid', '1000', '--clear-groups', '--']
    : [];
  const [file, ...args] = [...drop, ...execTraceArgs({ output }), ...argv];
  let code = 0;
  try {
    await run(file!, args, { cwd: options.cwd ?? dir });
  } catch (error) {
    code = (error as { code: number }).code;
  }
  const text = await readFile(output, 'utf8');
  const trace = parseExecTrace(text, { cwd: options.cwd ?? dir, launcher: options.launcher });
  return { code, trace, text };
}

function find(trace: ExecTrace, argv0: string, nth = 0) {
  const found = trace.execs.filter((exec) => exec.argv[0] === argv0 || exec.path.endsWith(`/${argv0}`))[nth];
  if (!found) throw new Error(`no exec of ${argv0} in ${JSON.stringify(trace.execs.map((e) => e.argv))}`);
  return found;
}

/**
 * `text` parsed as if the host had reached pid_max (32768) after each of its host pids in turn
 * (of the last `last` ones, when given): the pids after it start again from 300.
 */
function wrappedAround(text: string, last?: number): ExecTrace[] {
  // In the order they first appear, which is the order the kernel handed them out: sorting
  // them by number would scramble a trace whose own pids wrapped around (a busy host's do).
  const hostPids = [...new Set([...text.matchAll(/^(\d+) /gm)].map((m) => Number(m[1])))];
  expect(hostPids.length).toBeGreaterThan(4);
  const traces: ExecTrace[] = [];
  for (let wrap = Math.max(1, hostPids.length - (last ?? hostPids.length)); wrap < hostPids.length; wrap++) {
    const renumbered = new Map(hostPids.map((pid, i) => [pid, i < wrap ? 32768 - wrap + i : 300 + i - wrap]));
    const renumber = (pid: string) => String(renumbered.get(Number(pid)) ?? pid);
    // Only the first process (bubblewrap, outside the sandbox) is returned host pids by its forks.
    const root = text.slice(0, text.indexOf(' '));
    const lines = text.split('\n').map((line) => {
      const renumbered = line.replace(/^(\d+) /, (_, pid: string) => `${renumber(pid)} `);
      return line.startsWith(`${root} `)
        ? renumbered.replace(/= (\d+)$/, (_, pid: string) => `= ${renumber(pid)}`)
        : renumbered;
    });
    traces.push(parseExecTrace(lines.join('\n'), { cwd: dir, launcher: 'bwrap', pidMax: 32768 }));
  }
  return traces;
}

function expectScriptRecorded(trace: ExecTrace, rootCwd: string) {
  const shell = find(trace, 'sh');
  expect(shell).toMatchObject({ cwd: rootCwd, replaced: true, exitCode: null });
  expect(find(trace, 'sh', 1)).toMatchObject({
    argv: ['/bin/sh', '-c', 'exit 3'],
    cwd: '/tmp',
    exitCode: 3,
    ppid: shell.pid,
  });
  // The subshell is a fork of the shell that exec's pwd as its last command.
  expect(find(trace, 'pwd')).toMatchObject({ cwd: '/usr', exitCode: 0, ppid: shell.pid });
  expect(find(trace, 'pwd').pid).not.toBe(shell.pid);
  const killed = trace.execs.find((exec) => exec.argv.join(' ') === '/usr/bin/sleep 5');
  expect(killed).toMatchObject({ cwd: '/tmp', exitCode: null, signal: 'SIGKILL', ppid: shell.pid });
  expect(killed!.durationMs).toBeGreaterThan(100);
  const waited = trace.execs.find((exec) => exec.argv.join(' ') === '/usr/bin/sleep 0.2');
  expect(waited).toMatchObject({ exitCode: 0, signal: null });
  expect(find(trace, 'true')).toMatchObject({ pid: shell.pid, cwd: '/tmp', exitCode: 0, replaced: false });
}

describe('exec tracing', () => {
  it('records every program of a process tree with its cwd, parent, exit code or signal', async () => {
    const { code, trace } = await traced('plain', ['sh', '-c', SCRIPT]);

    expect(code).toBe(0);
    expectScriptRecorded(trace, dir);
    expect(trace.execs.every((exec) => exec.startedAt.getTime() > Date.now() - 60_000)).toBe(true);
  });

  it('follows a bubblewrap sandbox with its own pid namespace from the host, leaving out the launcher', async () => {
    const { code, trace } = await traced('bwrap', [...SANDBOX, 'sh', '-c', SCRIPT], { launcher: 'bwrap' });

    expect(code).toBe(0);
    expect(trace.execs.some((exec) => exec.path.endsWith('bwrap'))).toBe(false);
    expect(trace.execs[0]).toMatchObject({ argv: ['sh', '-c', SCRIPT], cwd: '/workspace' });
    expectScriptRecorded(trace, '/workspace');
  });

  it('matches the sandbox processes to their forks when host pids wrap around mid-trace', async () => {
    const { text } = await traced('wrap', [...SANDBOX, 'sh', '-c', SCRIPT], { launcher: 'bwrap' });

    for (const trace of wrappedAround(text)) {
      expect(trace.execs[0]).toMatchObject({ argv: ['sh', '-c', SCRIPT] });
      expectScriptRecorded(trace, '/workspace');
    }
  });

  it('does not take a sandbox pid for a host pid after the wraparound, however many processes ran', async () => {
    // More sandbox processes than pids below where the host restarts (300): their sandbox pids
    // are numbers the host hands out again after the wraparound.
    const script = 'for i in $(seq 320); do /usr/bin/true; done; /usr/bin/pwd';
    const { text } = await traced('wrap-many', [...SANDBOX, 'sh', '-c', script], { launcher: 'bwrap' });

    for (const trace of wrappedAround(text, 20)) {
      const [shell, ...rest] = trace.execs;
      expect(shell).toMatchObject({ argv: ['sh', '-c', script] });
      expect(rest.filter((exec) => exec.argv[0] === '/usr/bin/true')).toHaveLength(320);
      expect(rest.at(-1)).toMatchObject({ argv: ['/usr/bin/pwd'], ppid: shell!.pid });
      expect(rest.every((exec) => exec.ppid === shell!.pid)).toBe(true);
    }
  });

  it('passes on the exit status of the traced command', async () => {
    const { code, trace } = await traced('status', [...SANDBOX, 'sh', '-c', 'exit 7'], { launcher: 'bwrap' });

    expect(code).toBe(7);
    expect(trace.execs).toMatchObject([{ argv: ['sh', '-c', 'exit 7'], exitCode: 7 }]);
  });

  it.skipIf(process.getuid?.() !== 0)('works when Nightshift runs as an unprivileged user', async () => {
    const { code, trace } = await traced('user', [...SANDBOX, 'sh', '-c', SCRIPT], {
      asUser: true,
      launcher: 'bwrap',
    });

    expect(code).toBe(0);
    expectScriptRecorded(trace, '/workspace');
  });

  it('records arguments exactly, quotes and non-ASCII included, and threads changing directory', async () => {
    const weird = 'a "quoted" \\ back\tslash é ✓';
    const python = `import os, threading; t = threading.Thread(target=lambda: os.chdir("/usr")); t.start(); t.join(); os.execv("/usr/bin/env", ["env", "true"])`;
    const { trace } = await traced('args', [
      'sh',
      '-c',
      `/usr/bin/printf %s '${weird}' >/dev/null; /usr/bin/python3 -c '${python}'`,
    ]);

    expect(find(trace, 'printf').argv).toEqual(['/usr/bin/printf', '%s', weird]);
    expect(find(trace, 'env')).toMatchObject({ cwd: '/usr', exitCode: null, replaced: true });
    expect(find(trace, 'true')).toMatchObject({ cwd: '/usr', exitCode: 0 });
  });

  it('reports an exec the kernel refused', async () => {
    const file = join(dir, 'not-executable');
    await writeFile(file, '#!/bin/sh\n', { mode: 0o644 });

    const { trace } = await traced('refused', ['sh', '-c', `${file}; exit 0`]);

    expect(trace.refused).toMatchObject([{ path: file, errno: 'EACCES' }]);
    expect(execAuditEntries(trace, 'run_x').map((entry) => entry.kind)).toEqual(['exec', 'policy.denied']);
  });
});

describe('exec trace parsing', () => {
  it('joins calls split by other processes and reads cut strings', () => {
    const text = [
      '100  1700000000.000000 execve("/bin/sh", ["sh", "-c", "x"], 0x1 /* 3 vars */) = 0',
      '100  1700000000.001000 vfork( <unfinished ...>',
      '101  1700000000.002000 execve("/usr/bin/cat", ["cat", "abc"...], 0x1 /* 3 vars */ <unfinished ...>',
      '100  1700000000.003000 <... vfork resumed>) = 101',
      '101  1700000000.004000 <... execve resumed>) = 0',
      '101  1700000000.010000 +++ exited with 1 +++',
      '100  1700000000.020000 +++ killed by SIGTERM +++',
    ].join('\n');

    const { execs } = parseExecTrace(text, { cwd: '/w' });

    expect(execs).toEqual([
      expect.objectContaining({
        pid: 100,
        ppid: null,
        argv: ['sh', '-c', 'x'],
        signal: 'SIGTERM',
        durationMs: 20,
      }),
      expect.objectContaining({
        pid: 101,
        ppid: 100,
        argv: ['cat', 'abc'],
        cwd: '/w',
        exitCode: 1,
        truncated: true,
      }),
    ]);
  });
});
