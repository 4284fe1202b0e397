import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { statFields } from '../../src/process/index.ts';

/**
 * CPU time used by this process and every process it starts (sandboxes included), from a
 * cgroup made for the benchmark: a figure that other work on a shared machine barely moves,
 * unlike wall time. Needs a writable cgroup v1 `cpuacct` hierarchy (as root); elsewhere
 * `openCpuMeter` returns null and the benchmark prints wall times only.
 */
export interface CpuMeter {
  /** CPU milliseconds (user + system) used in the group so far. */
  usedMs(): number;
  /** Moves this process back where it was and removes the group. */
  close(): void;
}

/**
 * The cgroup v1 `cpuacct` group a meter of process `pid` makes beside the group `pid` starts in
 * (with its parent), or null when this host has no such hierarchy.
 */
export function meterGroup(pid: number): { parent: string; dir: string } | null {
  const own = /^\d+:cpuacct(?:,cpu)?:(.*)$|^\d+:cpu,cpuacct:(.*)$/m.exec(
    readFileSync(`/proc/${pid}/cgroup`, 'utf8'),
  );
  if (!own) return null;
  const parent = join('/sys/fs/cgroup/cpuacct', own[1] ?? own[2] ?? '/');
  return { parent, dir: join(parent, `nightshift-bench-${pid}`) };
}

function v1Meter(): CpuMeter | null {
  const group = meterGroup(process.pid);
  if (!group) return null;
  const { parent, dir } = group;
  try {
    mkdirSync(dir);
    writeFileSync(join(dir, 'cgroup.procs'), String(process.pid));
  } catch {
    return null;
  }
  return {
    usedMs: () => Number(readFileSync(join(dir, 'cpuacct.usage'), 'utf8')) / 1e6,
    close() {
      // The spawner helpers and anything else still alive move back with this process.
      for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        try {
          writeFileSync(join(parent, 'cgroup.procs'), pid);
        } catch {}
      }
      rmdirSync(dir);
    },
  };
}

/** A meter for this process and its descendants, or null when this host offers none (cgroup v1 only). */
export function openCpuMeter(): CpuMeter | null {
  try {
    return v1Meter();
  } catch {
    return null;
  }
}

/** Clock ticks a second in `/proc/PID/stat` (`getconf CLK_TCK`: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/**
 * CPU milliseconds (user + system) used so far by this process's spawner helpers (the children
 * running `src/process/helper.mjs`, which start every host program), from `/proc`; 0 elsewhere.
 * A helper that exited meanwhile is no longer counted: take differences over a span they live.
 */
export function helpersCpuMs(): number {
  let total = 0;
  try {
    const children = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8');
    for (const pid of children.split(' ').filter(Boolean)) {
      try {
        if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('helper.mjs')) continue;
        // utime and stime: fields 14 and 15.
        const fields = statFields(Number(pid));
        if (fields) total += ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
      } catch {}
    }
  } catch {}
  return total;
}
