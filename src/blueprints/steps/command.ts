import type { ExecResult } from '../../sandbox/types.ts';
import type { StepContext, StepOutcome } from './context.ts';

/** What a gate feeds back to the agent: the end of the output, where errors usually are. */
const OUTPUT_TAIL = 8 * 1024;

/**
 * Runs a shell command of a `run` or `gate` step in the sandbox with `sh -ec`, streaming its
 * output as `step.output` events, and says how it ended.
 */
export async function runCommand(
  context: StepContext,
  step: { id: string; timeoutMs: number | null; env: Record<string, string> },
  command: string,
): Promise<StepOutcome> {
  const result = await context.sandbox.exec(['sh', '-ec', command], {
    env: step.env,
    timeoutMs: step.timeoutMs ?? undefined,
    signal: context.signal,
    onOutput: (stream, text) =>
      context.events.push({ type: 'step.output', data: { step: step.id, stream, text } }),
  });
  return outcomeOf(step.id, step.timeoutMs, result);
}

function outcomeOf(stepId: string, timeoutMs: number | null, result: ExecResult): StepOutcome {
  const output = `${result.stdout}${result.stderr ? `\n${result.stderr}` : ''}`.slice(-OUTPUT_TAIL);
  const base = { output, exitCode: result.exitCode };
  if (result.exitCode === 0) return { ok: true, ...base };
  if (result.cancelled) return { ok: false, ...base, reason: `step ${stepId} was interrupted` };
  if (result.timedOut) {
    return {
      ok: false,
      ...base,
      conclusion: 'timed_out',
      reason: `step ${stepId} exceeded its time limit of ${Math.round((timeoutMs ?? 0) / 1000)}s`,
    };
  }
  if (result.oomKilled) {
    return { ok: false, ...base, conclusion: 'failure', reason: `step ${stepId} ran out of memory` };
  }
  const how =
    result.exitCode === null ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}`;
  return { ok: false, ...base, conclusion: 'failure', reason: `step ${stepId} failed: the command ${how}` };
}
