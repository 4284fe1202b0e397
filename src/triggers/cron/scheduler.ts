import { Cron } from 'croner';
import { fireAutomation, resumeAbandonedFire, startRuns, templateVars } from '../../automations/fire.ts';
import { type AutomationDeps, AutomationService } from '../../automations/service.ts';
import type { Automation, CronTrigger } from '../../automations/types.ts';
import type { StoredAutomation } from '../../store/automations.ts';

export interface SchedulerOptions {
  /** How often due slots are checked (ms, default 1000). */
  tickMs?: number;
  /** A slot fired later than this after its time is recorded as a catch-up (ms, default 60 s). */
  lateMs?: number;
  /** More work to do on every tick (the Slack answers of ended runs). */
  tasks?: (() => Promise<void>)[];
}

/** A running scheduler. `tick` runs one check now (tests drive it with their own clock). */
export interface Scheduler {
  tick(): Promise<void>;
  stop(): Promise<void>;
}

/** How many missed slots are counted before saying "at least". */
const MISSED_COUNT_CAP = 1000;

/**
 * Starts the cron scheduler: on every tick, each enabled cron automation fires for its latest
 * due slot, claimed atomically in `automation_fires` so two schedulers (or one restarted)
 * never fire a slot twice. Slots missed while no scheduler ran are caught up once, flagged
 * `catch_up`; earlier missed slots are counted in the fire's reason, not fired. A fire whose
 * scheduler died after claiming it (its lease ended) is taken over and finished, keeping the
 * runs it had already queued.
 *
 * @example
 * const scheduler = startScheduler({ db: engine.store.db, submit: (r) => engine.submit(r), log });
 * await scheduler.stop();
 */
export function startScheduler(deps: AutomationDeps, options: SchedulerOptions = {}): Scheduler {
  const service = new AutomationService(deps);
  const tickMs = options.tickMs ?? 1000;
  const lateMs = options.lateMs ?? 60_000;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const tick = (): Promise<void> => {
    running = running.then(async () => {
      for (const stored of await service.queries.list()) {
        if (stopped) return;
        const { automation } = stored;
        if (!automation.enabled || automation.trigger.kind !== 'cron') continue;
        try {
          await fireDueSlot(service, stored, automation.trigger, lateMs);
          await startWaiting(service, automation);
        } catch (error) {
          deps.log.error({ automation: automation.name, err: error }, 'scheduler tick failed');
        }
      }
      await resumeAbandoned(service).catch((error) =>
        deps.log.error({ err: error }, 'resuming abandoned fires failed'),
      );
      for (const task of options.tasks ?? []) {
        await task().catch((error) => deps.log.error({ err: error }, 'scheduler task failed'));
      }
    });
    return running;
  };

  const loop = () => {
    timer = setTimeout(() => {
      void tick().finally(() => {
        if (!stopped) loop();
      });
    }, tickMs);
  };
  void tick().finally(() => {
    if (!stopped) loop();
  });

  return {
    tick,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

async function fireDueSlot(
  service: AutomationService,
  stored: StoredAutomation,
  trigger: CronTrigger,
  lateMs: number,
): Promise<void> {
  const now = service.now();
  const cron = new Cron(trigger.cron, { timezone: trigger.timezone, paused: true });
  const due = cron.previousRuns(1, new Date(now.getTime() + 1))[0];
  const last = await service.queries.lastSlot(stored.automation.name);
  const from = last && last > stored.scheduleFrom ? last : stored.scheduleFrom;
  if (!due || due <= from) return;
  const missed = cron.nextRuns(MISSED_COUNT_CAP, from).filter((slot) => slot <= due).length;
  const catchUp = now.getTime() - due.getTime() > lateMs || missed > 1;
  const count = missed >= MISSED_COUNT_CAP ? `at least ${missed}` : String(missed);
  await fireAutomation(service.fireDeps, stored.automation, {
    kind: 'cron',
    slot: due,
    catchUp,
    reason: catchUp
      ? `catch-up: ${count} slot(s) missed while no scheduler ran; fired once for ${due.toISOString()}`
      : undefined,
  });
}

/** Starts a fire queued by overlap `queue` once the automation is below its concurrency. */
async function startWaiting(service: AutomationService, automation: Automation): Promise<void> {
  if (!(await service.queries.hasWaiting(automation.name))) return;
  if ((await service.queries.activeFires(automation.name)) >= automation.concurrency) return;
  const fire = await service.queries.takeWaiting(automation.name, service.fireDeps.leaseMs);
  if (!fire) return;
  const vars = templateVars(automation, { kind: 'cron', slot: fire.slot ?? undefined });
  await startRuns(service.fireDeps, automation, fire, vars);
}

/** Finishes the fires left `claimed` by dead schedulers (a few per tick). */
async function resumeAbandoned(service: AutomationService): Promise<void> {
  const lookup = async (name: string) => (await service.queries.get(name))?.automation;
  for (let i = 0; i < 10; i++) {
    if (!(await resumeAbandonedFire(service.fireDeps, lookup))) return;
  }
}
