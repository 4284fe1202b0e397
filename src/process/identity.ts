import { readFileSync } from 'node:fs';

/**
 * The kernel start time of process `pid` (field 22 of /proc/PID/stat, in clock ticks since
 * boot), or null when it is not running (or not visible). With the pid it names one process:
 * a reused pid has another start time.
 */
export function startTimeOf(pid: number): string | null {
  return statFields(pid)?.[19] ?? null;
}

/**
 * The fields of /proc/PID/stat after the command name (so index 0 is field 3, the state), or
 * null when the process is not running (or not visible).
 */
export function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/**
 * Whether the process `pid` that started at `startTime` still runs. When /proc hides it (a
 * `hidepid` mount) but the kernel says it exists, it counts as running: callers clean up after
 * dead processes, and must never take a live one's for dead.
 */
export function processAlive(pid: number, startTime: string): boolean {
  const now = startTimeOf(pid);
  if (now !== null) return now === startTime;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
