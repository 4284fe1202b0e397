import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import type { ExecRecord, ExecTrace, RefusedExec } from '../../types.ts';
import { parseCall, type TraceCall, type TraceValue } from './syntax.ts';

export interface ParseOptions {
  /** Working directory of the first traced process (default `/`). */
  cwd?: string;
  /**
   * Keep only what descends from the first process that exec'd a program of this name (e.g.
   * `bwrap`), leaving out the launcher before it and that exec itself.
   */
  launcher?: string;
  /**
   * The kernel's `pid_max` (default: this host's, from `/proc/sys/kernel/pid_max`): pids wrap
   * around to low numbers after it, which ordering by pid must allow for.
   */
  pidMax?: number;
}

const LINE = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/;
const UNFINISHED = ' <unfinished ...>';
const RESUMED = /^<\.\.\. ([a-z_0-9]+) resumed>(.*)$/s;
const EXITED = /^\+\+\+ exited with (\d+) \+\+\+$/;
const KILLED = /^\+\+\+ killed by (SIG[A-Z0-9]+)/;
const FORKS = new Set(['clone', 'clone3', 'fork', 'vfork']);

interface Call extends TraceCall {
  pid: number;
  time: number;
  /** Order of the call's entry line in the trace. */
  index: number;
}

interface Ending {
  pid: number;
  time: number;
  index: number;
  exitCode: number | null;
  signal: string | null;
}

/** Parses the output of a command run under {@link execTraceArgs} into the programs that ran. */
export function parseExecTrace(text: string, options: ParseOptions = {}): ExecTrace {
  const { calls, endings, firstSeen } = readLines(text);
  const parentOf = resolveParents(calls, firstSeen, options.pidMax ?? hostPidMax());
  return replay(calls, endings, parentOf, options);
}

function readLines(text: string) {
  const calls: Call[] = [];
  const endings: Ending[] = [];
  const firstSeen = new Map<number, number>();
  const pending = new Map<number, { text: string; time: number; index: number }>();
  let index = 0;
  for (const line of text.split('\n')) {
    const match = LINE.exec(line);
    if (!match) continue;
    index += 1;
    const pid = Number(match[1]);
    const time = Number(match[2]) * 1000;
    let rest = match[3]!;
    if (!firstSeen.has(pid)) firstSeen.set(pid, index);
    const exited = EXITED.exec(rest);
    const killed = KILLED.exec(rest);
    if (exited || killed) {
      endings.push({
        pid,
        time,
        index,
        exitCode: exited ? Number(exited[1]) : null,
        signal: killed?.[1] ?? null,
      });
      continue;
    }
    if (rest.startsWith('---') || rest.startsWith('+++')) continue;
    let start = { time, index };
    const resumed = RESUMED.exec(rest);
    if (resumed) {
      const begun = pending.get(pid);
      if (!begun) continue;
      pending.delete(pid);
      rest = begun.text + resumed[2];
      start = begun;
    } else if (rest.endsWith(UNFINISHED)) {
      pending.set(pid, { text: rest.slice(0, -UNFINISHED.length), time, index });
      continue;
    }
    const call = parseCall(rest);
    if (call) calls.push({ ...call, pid, time: start.time, index: start.index });
  }
  calls.sort((a, b) => a.index - b.index);
  return { calls, endings, firstSeen };
}

/**
 * Links each process to the fork that created it. A fork returns the child's pid in the
 * parent's pid namespace: a host pid for a process outside the sandbox (the launcher,
 * bubblewrap), a sandbox pid for one inside it (a child of a `CLONE_NEWPID` clone, and its
 * descendants). Host pids are linked directly; sandbox pids are matched by rank, as the kernel
 * hands out the pids of every level of a namespace in the same order (ranked in the order they
 * were handed out, which is not their numeric order when the pids wrapped around `pidMax`).
 */
function resolveParents(calls: Call[], firstSeen: Map<number, number>, pidMax: number): Map<number, Call> {
  const parentOf = new Map<number, Call>();
  const root = [...firstSeen.entries()].sort((a, b) => a[1] - b[1])[0]?.[0];
  // In trace order, a process's fork comes before anything its child does.
  const outside = new Set(root === undefined ? [] : [root]);
  const namespaced: Call[] = [];
  for (const fork of calls) {
    if (!FORKS.has(fork.name) || fork.ret === null || fork.ret <= 0) continue;
    if (!outside.has(fork.pid)) {
      namespaced.push(fork);
      continue;
    }
    if (!parentOf.has(fork.ret)) parentOf.set(fork.ret, fork);
    if (!fork.args.map(rawText).join(' ').includes('CLONE_NEWPID')) outside.add(fork.ret);
  }
  const orphans = inAllocationOrder(
    [...firstSeen.keys()].filter((pid) => pid !== root && !parentOf.has(pid)),
    (pid) => pid,
    pidMax,
  );
  const children = inAllocationOrder(namespaced, (fork) => fork.ret!, pidMax);
  orphans.forEach((pid, i) => {
    const fork = children[i];
    if (fork && (firstSeen.get(pid) ?? 0) > fork.index) parentOf.set(pid, fork);
  });
  return parentOf;
}

/**
 * `items` in the order the kernel handed out their pids (`pidOf`): ascending, unless the pids
 * wrapped around `pidMax` meanwhile. The pids of one trace lie in a window far narrower than
 * `pidMax`, so the widest gap between neighbours (going round past `pidMax`) is where the
 * allocation started.
 */
function inAllocationOrder<T>(items: T[], pidOf: (item: T) => number, pidMax: number): T[] {
  const sorted = [...items].sort((a, b) => pidOf(a) - pidOf(b));
  if (sorted.length < 2) return sorted;
  let start = 0;
  let widest = pidOf(sorted[0]!) + pidMax - pidOf(sorted.at(-1)!);
  for (let i = 1; i < sorted.length; i++) {
    const gap = pidOf(sorted[i]!) - pidOf(sorted[i - 1]!);
    if (gap > widest) {
      widest = gap;
      start = i;
    }
  }
  return [...sorted.slice(start), ...sorted.slice(0, start)];
}

let pidMaxOfHost: number | undefined;

/** This host's `pid_max`; the largest the kernel allows (2^22) when it cannot be read. */
function hostPidMax(): number {
  if (pidMaxOfHost === undefined) {
    try {
      pidMaxOfHost = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim()) || 4_194_304;
    } catch {
      pidMaxOfHost = 4_194_304;
    }
  }
  return pidMaxOfHost;
}

interface Proc {
  tgid: number;
  fs: { cwd: string };
  current: ExecRecord | null;
  kept: boolean;
}

function replay(
  calls: Call[],
  endings: Ending[],
  parentOf: Map<number, Call>,
  options: ParseOptions,
): ExecTrace {
  const procs = new Map<number, Proc>();
  const cwdAtFork = new Map<Call, string>();
  const execs: ExecRecord[] = [];
  const refused: RefusedExec[] = [];
  let launcherPid: number | null = null;

  function proc(pid: number): Proc {
    let p = procs.get(pid);
    if (p) return p;
    const fork = parentOf.get(pid);
    const parent = fork ? proc(fork.pid) : null;
    const flags = fork?.args.map(rawText).join(' ') ?? '';
    const thread = parent !== null && flags.includes('CLONE_THREAD');
    const sharesFs = parent !== null && flags.includes('CLONE_FS');
    p = {
      tgid: thread ? parent.tgid : pid,
      fs: sharesFs
        ? parent.fs
        : { cwd: (fork && cwdAtFork.get(fork)) ?? parent?.fs.cwd ?? options.cwd ?? '/' },
      current: null,
      kept:
        options.launcher === undefined || (parent !== null && (parent.kept || parent.tgid === launcherPid)),
    };
    procs.set(pid, p);
    return p;
  }

  function close(
    p: Proc,
    time: number,
    ending: Partial<Pick<ExecRecord, 'exitCode' | 'signal' | 'replaced'>>,
  ): void {
    if (!p.current) return;
    Object.assign(p.current, ending, { durationMs: round(time - p.current.startedAt.getTime()) });
    p.current = null;
  }

  const events = [
    ...calls.map((call) => ({ index: call.index, call })),
    ...endings.map((ending) => ({ index: ending.index, ending })),
  ].sort((a, b) => a.index - b.index);
  for (const event of events) {
    if ('ending' in event) {
      const { ending } = event;
      const p = proc(ending.pid);
      if (p.tgid === ending.pid) close(p, ending.time, { exitCode: ending.exitCode, signal: ending.signal });
      continue;
    }
    const { call } = event;
    const p = proc(call.pid);
    if (FORKS.has(call.name)) cwdAtFork.set(call, p.fs.cwd);
    else if (call.name === 'chdir' && call.ret === 0)
      p.fs.cwd = posix.resolve(p.fs.cwd, stringArg(call.args[0]));
    else if (call.name === 'fchdir' && call.ret === 0) {
      const path = /<(.*)>$/.exec(rawText(call.args[0]))?.[1];
      if (path) p.fs.cwd = path;
    } else if (call.name === 'execve' || call.name === 'execveat') {
      const [pathArg, argvArg] = call.name === 'execve' ? call.args : call.args.slice(1);
      const path = stringArg(pathArg);
      const argv = argvArg && 'array' in argvArg ? argvArg.array.map(stringArg) : [];
      const at = new Date(call.time);
      if (call.ret !== 0) {
        if (p.kept && call.errno && call.errno !== 'ENOENT' && call.errno !== 'ENOTDIR') {
          refused.push({ pid: p.tgid, path, argv, cwd: p.fs.cwd, at, errno: call.errno });
        }
        continue;
      }
      close(p, call.time, { replaced: true, exitCode: null, signal: null });
      if (
        options.launcher !== undefined &&
        launcherPid === null &&
        posix.basename(path) === options.launcher
      ) {
        launcherPid = p.tgid;
        continue;
      }
      if (!p.kept) continue;
      const truncated =
        (pathArg !== undefined && 'string' in pathArg && pathArg.truncated) ||
        (argvArg !== undefined &&
          'array' in argvArg &&
          (argvArg.truncated || argvArg.array.some(isTruncated)));
      const fork = parentOf.get(p.tgid);
      p.current = {
        pid: p.tgid,
        ppid: fork ? (procs.get(fork.pid)?.tgid ?? fork.pid) : null,
        argv,
        path,
        cwd: p.fs.cwd,
        startedAt: at,
        durationMs: null,
        exitCode: null,
        signal: null,
        replaced: false,
        truncated,
      };
      execs.push(p.current);
    }
  }
  return { execs, refused };
}

function stringArg(value: TraceValue | undefined): string {
  if (!value) return '';
  if ('string' in value) return value.string;
  return 'raw' in value ? value.raw : '';
}

function rawText(value: TraceValue | undefined): string {
  return value && 'raw' in value ? value.raw : '';
}

function isTruncated(value: TraceValue): boolean {
  return 'string' in value && value.truncated;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
