import { stripVTControlCharacters } from 'node:util';
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
  const redact = redactor(context.secrets ?? {});
  const raw = await context.sandbox.exec(['sh', '-ec', command], {
    env: step.env,
    timeoutMs: step.timeoutMs ?? undefined,
    signal: context.signal,
    onOutput: (stream, text) =>
      context.events.push({ type: 'step.output', data: { step: step.id, stream, text: redact(text) } }),
  });
  const result = { ...raw, stdout: redact(raw.stdout), stderr: redact(raw.stderr) };
  const refused = [...new Set(result.trace?.refused.map((exec) => exec.path) ?? [])];
  const outcome = outcomeOf(step.id, step.timeoutMs, result);
  // A shell refuses a masked (denied) program itself, before any execve the trace could show.
  const masked = (context.deniedExecutables ?? []).filter((name) =>
    new RegExp(`(^|[\\s/:])${escapeRegExp(name)}: (Permission denied|not found)`, 'm').test(result.stderr),
  );
  for (const name of masked) {
    context.auditDenial?.(`exec ${name}`, `a denied program; the shell could not run it in step ${step.id}`);
  }
  const blocked = [...refused, ...masked];
  for (const what of blocked) {
    context.events.push({
      type: 'policy.denied',
      data: { what: 'exec', reason: `the policy kept step ${step.id} from running ${what}` },
    });
  }
  if (!outcome.ok && blocked.length > 0) {
    outcome.reason = `${outcome.reason}; the policy kept it from running ${blocked.join(', ')}`;
  }
  return outcome;
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
    const problem = 'ran out of memory';
    return { ok: false, ...base, conclusion: 'failure', reason: `step ${stepId} ${problem}`, problem };
  }
  const how =
    result.exitCode === null ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}`;
  const said = lastLine(result.stderr);
  const problem = `the command ${how}${said ? `: ${said}` : ''}`;
  return { ok: false, ...base, conclusion: 'failure', reason: `step ${stepId} failed: ${problem}`, problem };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Replaces every secret value in text with `[secret NAME]`, so output events never store one. */
function redactor(secrets: Record<string, string>): (text: string) => string {
  const values = Object.entries(secrets).filter(([, value]) => value.length >= 4);
  if (values.length === 0) return (text) => text;
  return (text) => values.reduce((out, [name, value]) => out.split(value).join(`[secret ${name}]`), text);
}

/** Most characters of a command's last error line that a reason repeats. */
const SAID_MAX = 200;

/**
 * The last non-empty line of a command's error output (colours removed, at most `SAID_MAX`
 * characters): usually what went wrong, which the reason then says, and which fleets group
 * their failures by. Already redacted of the run's secrets.
 */
function lastLine(stderr: string): string {
  const line =
    stripVTControlCharacters(stderr)
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .at(-1) ?? '';
  return line.length > SAID_MAX ? `${line.slice(0, SAID_MAX - 1)}…` : line;
}
