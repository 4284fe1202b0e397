import { plural } from '../../core/plural.ts';
import type { RunConclusion } from '../../core/run.ts';
import { renderTemplate } from '../template.ts';
import type { AgentStep, Blueprint, BlueprintStep, GateStep } from '../types.ts';
import { runAgentStep } from './agent.ts';
import { runCommand } from './command.ts';
import type { StepContext, StepOutcome } from './context.ts';
import { runPublishStep } from './publish.ts';

export type { StepContext, StepOutcome } from './context.ts';

export interface BlueprintOutcome {
  conclusion: RunConclusion;
  reason: string | null;
}

/**
 * Walks a blueprint's steps in order. A failed step ends the run unless it may continue; a
 * failed gate with a `fix` step sends its output to that agent and runs again, at most
 * `maxRounds` times. `beforePublish` runs just before the publish step (the run's status).
 */
export async function runBlueprint(
  context: StepContext,
  blueprint: Blueprint,
  beforePublish: () => Promise<void>,
): Promise<BlueprintOutcome> {
  for (const step of blueprint.steps) {
    if (step.kind === 'publish') await beforePublish();
    const outcome =
      step.kind === 'gate'
        ? await runGate(context, blueprint, step)
        : await runStep(context, step, undefined);
    if (context.signal.aborted) return { conclusion: 'cancelled', reason: outcome.reason ?? null };
    if (outcome.conclusion === 'no_changes')
      return { conclusion: 'no_changes', reason: outcome.reason ?? null };
    if (!outcome.ok && !step.continueOnError) {
      return {
        conclusion: outcome.conclusion ?? 'failure',
        reason: outcome.reason ?? `step ${step.id} failed`,
      };
    }
  }
  return { conclusion: 'success', reason: null };
}

async function runGate(context: StepContext, blueprint: Blueprint, gate: GateStep): Promise<StepOutcome> {
  const fixStep = gate.fix
    ? (blueprint.steps.find((s): s is AgentStep => s.kind === 'agent' && s.id === gate.fix) ?? null)
    : null;
  for (let round = 0; ; round++) {
    const outcome = await runStep(context, gate, round > 0 ? round : undefined);
    if (outcome.ok || context.signal.aborted) return outcome;
    // A stopped agent gets no fix rounds: the gate's verdict stands.
    if (!fixStep || round >= gate.maxRounds || context.steering?.stoppedBy) {
      const rounds = fixStep ? ` after ${plural(round, 'fix round')}` : '';
      // `gate tests failed: the command exited with code 1`, not `...: step tests failed: ...` again.
      const problem = outcome.problem ?? outcome.reason ?? 'check failed';
      return { ...outcome, reason: `gate ${gate.id} failed${rounds}: ${problem}` };
    }
    await context.events.emit({
      type: 'gate.failed',
      data: { step: gate.id, round: round + 1, maxRounds: gate.maxRounds, fixStep: fixStep.id },
    });
    const command = renderTemplate(gate.command, context.vars);
    const gateVars = { command, output: outcome.output ?? '', round: round + 1 };
    const fixed = await runStep(
      context,
      fixStep,
      round + 1,
      renderTemplate(fixStep.fixPrompt, { ...context.vars, gate: gateVars }),
    );
    if (!fixed.ok) return fixed;
  }
}

/** Runs one step between its `step.started` and `step.finished` events. */
async function runStep(
  context: StepContext,
  step: BlueprintStep,
  round: number | undefined,
  promptOverride?: string,
): Promise<StepOutcome> {
  const started = Date.now();
  if (context.progress) context.progress.step = step.id;
  const text =
    step.kind === 'run' || step.kind === 'gate' ? renderTemplate(step.command, context.vars) : null;
  // Events are batched (written within 100 ms, and at the end of each step), not one write each.
  if (text !== null && text.trim() === '') {
    context.events.push(
      { type: 'step.started', data: { step: step.id, kind: step.kind, round } },
      { type: 'step.finished', data: { step: step.id, kind: step.kind, ok: true, ms: 0, skipped: true } },
    );
    return { ok: true, skipped: true };
  }
  context.events.push({ type: 'step.started', data: { step: step.id, kind: step.kind, round } });
  let outcome: StepOutcome;
  try {
    const env = Object.fromEntries(
      Object.entries(step.env).map(([k, v]) => [k, renderTemplate(v, context.vars)]),
    );
    const secrets = step.kind === 'run' && step.secrets ? (context.secrets ?? {}) : {};
    const names = Object.keys(secrets);
    if (names.length > 0) context.auditSecrets?.(names, step.id);
    const withEnv = { ...step, env: { ...env, ...secrets } };
    if (text !== null) outcome = await runCommand(context, withEnv, text);
    else if (step.kind === 'agent') {
      outcome = await runAgentStep(
        context,
        withEnv as AgentStep,
        promptOverride ?? renderTemplate(step.prompt, context.vars),
      );
    } else if (step.kind === 'publish') outcome = await runPublishStep(context, step);
    else throw new Error(`unknown step kind ${(step as BlueprintStep).kind}`);
  } catch (error) {
    if (context.signal.aborted) outcome = { ok: false, reason: `step ${step.id} was interrupted` };
    else {
      const message = error instanceof Error ? error.message : String(error);
      outcome = { ok: false, conclusion: 'error', reason: `step ${step.id}: ${message}` };
    }
  }
  if (step.kind === 'gate') context.gates?.set(step.id, outcome.ok);
  await context.events.emit({
    type: 'step.finished',
    data: {
      step: step.id,
      kind: step.kind,
      ok: outcome.ok,
      exitCode: outcome.exitCode,
      ms: Date.now() - started,
      error: outcome.ok ? undefined : outcome.reason,
    },
  });
  return outcome;
}
