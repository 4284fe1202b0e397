import { Cron } from 'croner';
import type pino from 'pino';
import type { Problem } from '../blueprints/problems.ts';
import { NightshiftError, notFound } from '../core/errors.ts';
import type { Run } from '../core/run.ts';
import type { RunRequest } from '../engine/engine.ts';
import { type AutomationFire, automationQueries, type StoredAutomation } from '../store/automations.ts';
import type { Db } from '../store/db.ts';
import { type FireDeps, type FireInput, fireAutomation } from './fire.ts';
import { AutomationInvalidError, type LoadedAutomations } from './load.ts';
import { parseOne } from './parse.ts';
import type { Automation } from './types.ts';

/** What the automation service, the scheduler and the trigger routes share. */
export interface AutomationDeps {
  db: Db;
  /** Queues a run (the engine's `submit`). */
  submit: (request: RunRequest) => Promise<Run>;
  log: pino.Logger;
  /** The clock; tests move it. */
  now?: () => Date;
  /** Where webhook and Slack secrets are read (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** How long a claimed fire is held before another scheduler may finish it (ms, default 5 min). */
  fireLeaseMs?: number;
  /** Applies a fleet automation's spec (the engine's `fleets.applyFile`). */
  applyFleet?: FireDeps['applyFleet'];
  /** Starts a swarm automation's spec (the engine's `swarms.startFile`). */
  startSwarm?: FireDeps['startSwarm'];
}

/** An automation with its next scheduled fire (cron, enabled), for listings. */
export interface AutomationView extends StoredAutomation {
  nextFireAt: Date | null;
}

/**
 * Automations as the system of record keeps them: synced from files, created through the API,
 * fired by triggers or by hand.
 */
export class AutomationService {
  readonly queries;
  readonly fireDeps: FireDeps;
  readonly now: () => Date;

  constructor(readonly deps: AutomationDeps) {
    this.queries = automationQueries(deps.db);
    this.now = deps.now ?? (() => new Date());
    this.fireDeps = {
      automations: this.queries,
      submit: deps.submit,
      log: deps.log,
      now: this.now,
      leaseMs: deps.fireLeaseMs,
      applyFleet: deps.applyFleet,
      startSwarm: deps.startSwarm,
    };
  }

  async list(): Promise<AutomationView[]> {
    return (await this.queries.list()).map((stored) => this.view(stored));
  }

  async get(name: string): Promise<AutomationView> {
    const stored = await this.queries.get(name);
    if (!stored) throw notFound('automation', name, 'list automations with `nightshift automations list`');
    return this.view(stored);
  }

  /**
   * Creates or replaces an automation from its JSON form (the file format of one automation).
   * Throws AUTOMATION_INVALID with every problem, CONFLICT when a file owns the name.
   */
  async put(input: unknown, options: { name?: string } = {}): Promise<AutomationView> {
    const errors: Problem[] = [];
    const warnings: Problem[] = [];
    const automation = parseOne(input, [], { source: 'api', cwd: '/' }, undefined, errors, warnings);
    if (!automation || errors.length > 0) throw new AutomationInvalidError('request body', errors);
    if (options.name !== undefined && automation.name !== options.name) {
      throw new NightshiftError(
        'INVALID_INPUT',
        `the body names automation ${automation.name}, the URL ${options.name}`,
      );
    }
    const existing = await this.queries.get(automation.name);
    if (existing && existing.automation.source !== 'api') {
      throw new NightshiftError(
        'CONFLICT',
        `automation ${automation.name} is defined in ${existing.automation.source}`,
        {
          hint: 'edit that file and run `nightshift automations apply`, or pick another name',
        },
      );
    }
    await this.checkWebhookName(automation);
    return this.view(await this.queries.upsert(automation, this.now()));
  }

  /** Deletes an automation created through the API. */
  async remove(name: string): Promise<void> {
    const stored = await this.get(name);
    if (stored.automation.source !== 'api') {
      throw new NightshiftError('CONFLICT', `automation ${name} is defined in ${stored.automation.source}`, {
        hint: 'remove it from that file and run `nightshift automations apply`',
      });
    }
    await this.queries.remove(name);
  }

  async setEnabled(name: string, enabled: boolean): Promise<AutomationView> {
    if (!(await this.queries.setEnabled(name, enabled, this.now()))) throw notFound('automation', name);
    return this.get(name);
  }

  /** Fires an automation now, whatever its trigger (disabled ones too: a person asked). */
  async runNow(name: string, input: Omit<FireInput, 'kind'> = {}): Promise<AutomationFire> {
    const { automation } = await this.get(name);
    const fire = await fireAutomation(this.fireDeps, automation, { ...input, kind: 'manual' });
    return fire!;
  }

  async history(name: string, limit?: number): Promise<AutomationFire[]> {
    await this.get(name);
    return this.queries.history(name, limit);
  }

  /**
   * Makes the database match the loaded files: upserts their automations and removes the
   * automations of `sources` (files or directories) that the files no longer define.
   */
  async apply(
    loaded: LoadedAutomations[],
    sources: string[],
  ): Promise<{ applied: string[]; removed: string[] }> {
    const owners = new Map<string, string>();
    for (const { automations } of loaded) {
      for (const { name, source } of automations) {
        const other = owners.get(name);
        if (other) {
          throw new NightshiftError(
            'CONFLICT',
            `automation ${name} is defined in both ${other} and ${source}`,
            {
              hint: 'names are unique across files and the API; rename one of them',
            },
          );
        }
        owners.set(name, source);
      }
    }
    const applied: string[] = [];
    for (const { automations } of loaded) {
      for (const automation of automations) {
        const existing = await this.queries.get(automation.name);
        if (
          existing &&
          existing.automation.source !== automation.source &&
          (existing.automation.source === 'api' || applied.includes(automation.name))
        ) {
          throw new NightshiftError(
            'CONFLICT',
            `automation ${automation.name} in ${automation.source} was created through the API`,
            {
              hint: 'names are unique across files and the API; rename one of them',
            },
          );
        }
        await this.checkWebhookName(automation);
        await this.queries.upsert(automation, this.now());
        applied.push(automation.name);
      }
    }
    const removed: string[] = [];
    for (const source of sources) removed.push(...(await this.queries.removeMissing(source, applied)));
    return { applied, removed };
  }

  private async checkWebhookName(automation: Automation): Promise<void> {
    if (automation.trigger.kind !== 'webhook') return;
    const hook = automation.trigger.webhook;
    const other = (await this.queries.list()).find(
      (s) =>
        s.automation.name !== automation.name &&
        s.automation.trigger.kind === 'webhook' &&
        s.automation.trigger.webhook === hook,
    );
    if (other) {
      throw new NightshiftError(
        'CONFLICT',
        `webhook ${hook} already belongs to automation ${other.automation.name}`,
        {
          hint: 'give each webhook trigger its own name',
        },
      );
    }
  }

  private view(stored: StoredAutomation): AutomationView {
    const { trigger, enabled } = stored.automation;
    if (trigger.kind !== 'cron' || !enabled) return { ...stored, nextFireAt: null };
    const cron = new Cron(trigger.cron, { timezone: trigger.timezone, paused: true });
    return { ...stored, nextFireAt: cron.nextRun(this.now()) };
  }
}
