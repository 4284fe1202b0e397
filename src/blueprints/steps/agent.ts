import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { HarnessContext } from '../../agents/types.ts';
import type { AgentStep } from '../types.ts';
import type { StepContext, StepOutcome } from './context.ts';

/**
 * Starts the step's harness on `prompt` in the run's sandbox and stores every normalized event
 * it emits. The agent's own `agent.error` makes the step fail.
 */
export async function runAgentStep(
  context: StepContext,
  step: AgentStep,
  prompt: string,
): Promise<StepOutcome> {
  const stopped = context.steering?.stoppedBy;
  if (stopped) {
    return {
      ok: true,
      skipped: true,
      reason: `the agent was stopped${stopped.by ? ` by ${stopped.by}` : ''}`,
    };
  }
  const harness = context.harnesses.get(step.harness ?? context.run.inputs.harness ?? context.defaultHarness);
  const sessionDir = join(context.sessionsDir, step.id);
  await mkdir(sessionDir, { recursive: true, mode: 0o700 });
  const earlier = context.resumeSessionsDir ? join(context.resumeSessionsDir, step.id) : undefined;
  const harnessContext: HarnessContext = {
    runId: context.run.id,
    stepId: step.id,
    sessionDir,
    resumeFrom: earlier && existsSync(earlier) ? earlier : undefined,
    sandbox: context.sandbox,
    env: { ...context.environment.env, ...step.env },
    model: step.model ?? context.run.inputs.model ?? undefined,
    modelGatewaySocket: context.modelGatewaySocket,
    signal: context.signal,
    subRuns: context.subRuns,
    subRunsServer: context.subRunsServer,
  };
  await harness.prepare?.(harnessContext);
  const session = harness.start(prompt, harnessContext);
  const stopOnAbort = () => {
    session.stop(null).catch(() => {});
  };
  context.signal.addEventListener('abort', stopOnAbort, { once: true });
  context.steering?.attach(step.id, session);
  let error: string | null = null;
  try {
    for await (const event of session.events) {
      context.events.push(event);
      if (event.type === 'agent.error') error = event.data.message;
    }
  } finally {
    context.steering?.detach(session);
    context.signal.removeEventListener('abort', stopOnAbort);
  }
  await context.events.flush();
  if (context.signal.aborted) return { ok: false, reason: `step ${step.id} was interrupted` };
  // Halted on request: what the agent did so far stands, and the run goes on to its checks.
  if (context.steering?.stoppedBy) return { ok: true };
  if (error) return { ok: false, conclusion: 'failure', reason: `agent step ${step.id} failed: ${error}` };
  return { ok: true };
}
