import { isAbsolute, resolve } from 'node:path';
import type pino from 'pino';
import { renderTemplate, type TemplateVars } from '../blueprints/template.ts';
import { invalidInput, messageWithHint, NightshiftError, toNightshiftError } from '../core/errors.ts';
import type { Run } from '../core/run.ts';
import type { RunRequest } from '../engine/engine.ts';
import { type ApplySummary, applyCounts } from '../fleets/apply.ts';
import { FleetStopped } from '../fleets/service.ts';
import { DrivenElsewhere } from '../fleets/swarm.ts';
import { SwarmStopped } from '../fleets/swarm-drives.ts';
import type { AutomationFire, AutomationQueries } from '../store/automations.ts';
import { targetName } from './parse.ts';
import type { Automation, AutomationFilter, FireKind } from './types.ts';

/** What firing an automation needs: its tables, a way to queue runs, a logger and a clock. */
export interface FireDeps {
  automations: AutomationQueries;
  submit: (request: RunRequest) => Promise<Run>;
  log: pino.Logger;
  now: () => Date;
  /** How long a claimed fire is held before another scheduler may finish it (ms). */
  leaseMs?: number;
  /** Applies a fleet spec file as `author` (a fleet automation's fire); see `FleetService.applyFile`. */
  applyFleet?: (file: string, author: string) => Promise<{ summary: ApplySummary; runIds: string[] }>;
  /**
   * Starts a swarm spec file in the process that owns the home (a swarm automation's fire), or
   * follows the drive of the same spec going on there (`attached`); see `SwarmDrives.startFile`.
   */
  startSwarm?: (file: string) => Promise<{ id: string; name: string; attached: boolean }>;
}

/** The trigger's data for one fire. */
export interface FireInput {
  kind: FireKind;
  /** The scheduled slot a cron fire claims (unique per automation). */
  slot?: Date;
  catchUp?: boolean;
  reason?: string;
  /** A webhook's JSON body: `{{payload.x}}`. */
  payload?: unknown;
  /** A Slack message: `{{slack.text}}`; `repo` is the target it named. */
  slack?: { text: string; user: string; channel: string; repo?: string };
  reply?: AutomationFire['reply'];
  /** The delivery (`source:id`) this fire answers: processing it again resumes the same fire. */
  delivery?: string;
}

/**
 * Fires an automation: checks filters, claims the fire (a cron slot, or a delivery, at most
 * once), applies the concurrency limit (cron: `overlap` skip or queue), renders the inputs and
 * queues one run per target. Returns null when the slot was already claimed elsewhere; for a
 * delivery seen before, its fire (resumed if its process died before settling it).
 */
export async function fireAutomation(
  deps: FireDeps,
  automation: Automation,
  input: FireInput,
): Promise<AutomationFire | null> {
  const vars = templateVars(automation, input);
  const failing = automation.filters.find((filter) => !filterHolds(filter, vars));
  const fire = await deps.automations.claimFire({
    automation: automation.name,
    kind: input.kind,
    slot: input.slot,
    catchUp: input.catchUp,
    reason: input.reason,
    reply: input.reply,
    delivery: input.delivery,
    leaseMs: deps.leaseMs,
    now: deps.now(),
  });
  if (!fire) return null;
  if (fire.existing && fire.outcome !== 'claimed') return fire;
  return decide(deps, automation, fire, vars, input, failing);
}

/**
 * Takes over a cron fire whose process died after claiming it (its lease ended) and finishes
 * it: filters, concurrency, then the runs not queued yet. Returns null when none is abandoned.
 */
export async function resumeAbandonedFire(
  deps: FireDeps,
  automations: (name: string) => Promise<Automation | undefined>,
): Promise<AutomationFire | null> {
  const fire = await deps.automations.takeAbandoned(deps.leaseMs);
  if (!fire) return null;
  const automation = await automations(fire.automation);
  if (!automation) return deps.automations.settleFire(fire.id, 'failed', { reason: 'automation removed' });
  deps.log.warn({ automation: automation.name, fire: fire.id }, 'resuming a fire its scheduler left');
  const input: FireInput = { kind: fire.kind, slot: fire.slot ?? undefined };
  const vars = templateVars(automation, input);
  const failing = automation.filters.find((filter) => !filterHolds(filter, vars));
  return decide(deps, automation, fire, vars, input, failing);
}

async function decide(
  deps: FireDeps,
  automation: Automation,
  fire: AutomationFire,
  vars: TemplateVars,
  input: FireInput,
  failing: AutomationFilter | undefined,
): Promise<AutomationFire> {
  if (failing) {
    return deps.automations.settleFire(fire.id, 'filtered', {
      reason: `filter on ${failing.field} did not match`,
    });
  }
  const active = await deps.automations.activeFires(automation.name);
  // A resumed fire that already queued runs is past this decision: it only finishes.
  const begun = await deps.automations.runsOfFire(fire.id);
  if (active >= automation.concurrency && begun.length === 0) {
    const busy = `${active} earlier fire(s) still running (concurrency ${automation.concurrency})`;
    const queue = automation.trigger.kind === 'cron' && automation.trigger.overlap === 'queue';
    if (queue && !(await deps.automations.hasWaiting(automation.name))) {
      return deps.automations.settleFire(fire.id, 'waiting', { reason: `queued: ${busy}` });
    }
    return deps.automations.settleFire(fire.id, 'skipped', {
      reason: queue ? `skipped: one fire is already queued; ${busy}` : `skipped: ${busy}`,
    });
  }
  return startRuns(deps, automation, fire, vars, input);
}

/** Starts the runs of a claimed (or dequeued) fire and records them. */
export async function startRuns(
  deps: FireDeps,
  automation: Automation,
  fire: AutomationFire,
  vars: TemplateVars,
  input: Pick<FireInput, 'slack'> = {},
): Promise<AutomationFire> {
  if (automation.fleet) return applyFleetFire(deps, automation, automation.fleet, fire);
  if (automation.swarm) return startSwarmFire(deps, automation, automation.swarm, fire);
  let request: Omit<RunRequest, 'repo'>;
  let targets: string[];
  try {
    request = renderRequest(automation, fire, vars);
    targets = chooseTargets(automation, vars, input.slack?.repo);
  } catch (error) {
    const e = toNightshiftError(error);
    deps.log.warn({ automation: automation.name, fire: fire.id, code: e.code }, 'automation fire failed');
    return deps.automations.settleFire(fire.id, 'failed', { reason: e.message });
  }
  // A fire resumed after a crash keeps the runs its first process queued.
  const queued = await deps.automations.runsOfFire(fire.id);
  const runIds = queued.map((run) => run.id);
  const failures: string[] = [];
  for (const target of targets) {
    const done = queued.findIndex((run) => run.repo === targetName(target));
    if (done >= 0) {
      queued.splice(done, 1);
      continue;
    }
    try {
      // Keeps the fire while this process works through many targets, so no other takes it over.
      await deps.automations.renewFire(fire.id, deps.leaseMs);
      runIds.push((await deps.submit({ ...request, repo: resolveTarget(automation, target) })).id);
    } catch (error) {
      failures.push(`${targetName(target)}: ${toNightshiftError(error).message}`);
    }
  }
  if (failures.length > 0)
    deps.log.warn({ automation: automation.name, fire: fire.id, failures }, 'automation runs not started');
  const outcome = runIds.length > 0 ? 'started' : 'failed';
  const reason = failures.length > 0 ? failures.join('; ') : null;
  deps.log.info(
    { automation: automation.name, fire: fire.id, runs: runIds.length, kind: fire.kind },
    'automation fired',
  );
  return deps.automations.settleFire(fire.id, outcome, { runIds, reason });
}

/**
 * A fleet automation's fire: applies its fleet spec again, so its new repos and changed inputs
 * get runs (finished repos are not redone); `skipped` when nothing changed. A fire resumed after
 * a crash applies it again too, which queues only what the first apply did not.
 */
function applyFleetFire(
  deps: FireDeps,
  automation: Automation,
  file: string,
  fire: AutomationFire,
): Promise<AutomationFire> {
  return specFire(
    deps,
    automation,
    fire,
    'apply fleets',
    async (applyFleet) => {
      const { summary, runIds } = await applyFleet(file, automation.runAs);
      deps.log.info(
        {
          automation: automation.name,
          fire: fire.id,
          fleet: summary.fleet,
          runs: runIds.length,
          kind: fire.kind,
        },
        'automation applied its fleet',
      );
      return {
        outcome: runIds.length > 0 ? 'started' : 'skipped',
        runIds,
        reason: `fleet ${summary.fleet}: ${applyCounts(summary)}`,
      };
    },
    deps.applyFleet,
    // A person (or stop_when) stopped the fleet: a schedule does not start it again.
    (error) => (error instanceof FleetStopped ? messageWithHint(error) : null),
  );
}

/**
 * A swarm automation's fire: starts its swarm spec in the process that owns the home, which
 * drives it (and a server takes it up again after a restart); or continues the execution that
 * stopped before its end. `skipped` while that process drives the same spec already. The runs
 * are the swarm's own: its drive starts them, so the fire lists none.
 */
function startSwarmFire(
  deps: FireDeps,
  automation: Automation,
  file: string,
  fire: AutomationFire,
): Promise<AutomationFire> {
  return specFire(
    deps,
    automation,
    fire,
    'start swarms',
    async (startSwarm) => {
      const { id, name, attached } = await startSwarm(file);
      deps.log.info(
        { automation: automation.name, fire: fire.id, swarm: name, id, attached, kind: fire.kind },
        'automation started its swarm',
      );
      return attached
        ? { outcome: 'skipped', runIds: [], reason: `swarm ${name} (${id}) is still going on` }
        : {
            outcome: 'started',
            runIds: [],
            reason: `swarm ${name}: ${id} (nightshift swarm status ${name})`,
          };
    },
    deps.startSwarm,
    (error) => {
      if (error instanceof DrivenElsewhere) return `${error.message}: it is still going on`;
      // A person cancelled the swarm: a schedule does not start it again.
      return error instanceof SwarmStopped ? messageWithHint(error) : null;
    },
  );
}

/**
 * A fire that hands a spec file to the engine (`act`, with `how`, which this process may lack:
 * then the fire fails saying it cannot `what`); a problem with the spec fails the fire, and an
 * error `skips` gives a reason for (there was nothing to do) skips it.
 */
async function specFire<T>(
  deps: FireDeps,
  automation: Automation,
  fire: AutomationFire,
  what: string,
  act: (how: T) => Promise<{ outcome: 'started' | 'skipped'; runIds: string[]; reason: string }>,
  how: T | undefined,
  skips: (error: unknown) => string | null,
): Promise<AutomationFire> {
  try {
    if (!how)
      throw new NightshiftError('CONFLICT', `this process cannot ${what}`, {
        hint: 'fire it through `nightshift serve` (its scheduler, or `nightshift automations run` while it runs)',
      });
    await deps.automations.renewFire(fire.id, deps.leaseMs);
    const { outcome, runIds, reason } = await act(how);
    return deps.automations.settleFire(fire.id, outcome, { runIds, reason });
  } catch (error) {
    const skipped = skips(error);
    if (skipped) return deps.automations.settleFire(fire.id, 'skipped', { runIds: [], reason: skipped });
    const e = toNightshiftError(error);
    deps.log.warn({ automation: automation.name, fire: fire.id, code: e.code }, 'automation fire failed');
    return deps.automations.settleFire(fire.id, 'failed', { reason: messageWithHint(e) });
  }
}

/** The variables an automation's templates and filters see. */
export function templateVars(automation: Automation, input: FireInput): TemplateVars {
  const vars: Record<string, unknown> = {
    automation: { name: automation.name },
    fire: { kind: input.kind, scheduled_at: input.slot?.toISOString() ?? '' },
  };
  if (input.payload !== undefined) vars.payload = input.payload;
  if (input.slack) vars.slack = input.slack;
  return vars as TemplateVars;
}

function renderRequest(
  automation: Automation,
  fire: AutomationFire,
  vars: TemplateVars,
): Omit<RunRequest, 'repo'> {
  const { prompt, script, values } = automation.inputs;
  return {
    prompt: prompt === undefined ? undefined : renderTemplate(prompt, vars),
    script: script === undefined ? undefined : renderTemplate(script, vars),
    values: {
      ...Object.fromEntries(Object.entries(values).map(([key, text]) => [key, renderTemplate(text, vars)])),
      automation: automation.name,
      fire: fire.id,
    },
    blueprint: automation.blueprint ?? undefined,
    cwd: automation.cwd,
    trigger: `${fire.kind}:${automation.name}`,
    author: automation.runAs,
  };
}

/** Every target, or the one named by the webhook mapping or the Slack message (only among the targets). */
function chooseTargets(automation: Automation, vars: TemplateVars, named?: string): string[] {
  const trigger = automation.trigger;
  const wanted =
    named ??
    (trigger.kind === 'webhook' && trigger.repo ? renderTemplate(trigger.repo, vars).trim() : undefined);
  if (wanted === undefined) return automation.targets;
  const match = automation.targets.find((target) => target === wanted || targetName(target) === wanted);
  if (!match) {
    const names = automation.targets.map(targetName).join(', ');
    throw invalidInput(
      `repo "${wanted}" is not a target of automation ${automation.name}`,
      `targets: ${names}`,
    );
  }
  return [match];
}

function resolveTarget(automation: Automation, target: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target) || /^[^/]+@[^:]+:/.test(target) || isAbsolute(target))
    return target;
  return resolve(automation.cwd, target);
}

function filterHolds(filter: AutomationFilter, vars: TemplateVars): boolean {
  let value: unknown = vars;
  for (const segment of filter.field.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, segment)) return false;
    value = (value as Record<string, unknown>)[segment];
  }
  if (filter.equals !== undefined) return value === filter.equals;
  if (filter.in !== undefined) return filter.in.includes(value as string);
  if (filter.matches !== undefined)
    return typeof value === 'string' && new RegExp(filter.matches).test(value);
  return true;
}
