import type { ExecTrace } from '../sandbox/types.ts';
import type { NewAuditEntry } from './entries.ts';

/** `exec` audit entries (source `trace`) for the programs of a trace, and a `policy.denied` per refused exec. */
export function execAuditEntries(trace: ExecTrace, runId: string | null): NewAuditEntry[] {
  const entries: NewAuditEntry[] = trace.execs.map((exec) => ({
    kind: 'exec',
    runId,
    data: {
      argv: exec.argv.length > 0 ? exec.argv : [exec.path],
      cwd: exec.cwd,
      pid: exec.pid,
      exitCode: exec.exitCode,
      signal: exec.signal,
      durationMs: exec.durationMs,
      source: 'trace',
    },
  }));
  for (const refused of trace.refused) {
    entries.push({
      kind: 'policy.denied',
      runId,
      data: { what: `exec ${refused.path}`, reason: `the kernel refused it (${refused.errno})` },
    });
  }
  return entries;
}
