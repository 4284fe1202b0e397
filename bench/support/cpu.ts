import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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

function v1Meter(): CpuMeter | null {
  const root = '/sys/fs/cgroup/cpuacct';
  const own = /^\d+:cpuacct(?:,cpu)?:(.*)$|^\d+:cpu,cpuacct:(.*)$/m.exec(
    readFileSync('/proc/self/cgroup', 'utf8'),
  );
  if (!own) return null;
  const parent = join(root, own[1] ?? own[2] ?? '/');
  const dir = join(parent, `nightshift-bench-${process.pid}`);
  try {
    mkdirSync(dir);
    writeFileSync(join(dir, 'cgroup.procs'), String(process.pid));
  } catch {
    return null;
  }
  return {
    usedMs: () => Number(readFileSync(join(dir, 'cpuacct.usage'), 'utf8')) / 1e6,
    close() {
      // The spawner helper and anything else still alive move back with this process.
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
