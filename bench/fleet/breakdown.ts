import type { RunEvent } from '../../src/core/events.ts';
import type { Store } from '../../src/store/index.ts';

/**
 * Where a fleet's time went, in milliseconds per repo (means over the fleet's runs). Runs
 * overlap, so the parts are slot time: `idle slot` is the time a concurrency slot held no run
 * (rollout and claim latency, the apply itself), the others are time a run held a slot.
 */
export type FleetBreakdown = Record<FleetPart, number>;

export const FLEET_PARTS = [
  'idle slot',
  'claim → executor',
  'fetch',
  'checkout',
  'sandbox.create',
  'provision.other',
  'setup+script+tests',
  'publish.stage',
  'publish.git',
  'publish.record',
  'sandbox.destroy',
  'events+conclude',
] as const;
export type FleetPart = (typeof FLEET_PARTS)[number];

/** Every event of a run, page by page. */
async function allEvents(store: Store, runId: string): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  for (;;) {
    const page = await store.events(runId, events.at(-1)?.seq ?? 0);
    if (page.length === 0) return events;
    events.push(...page);
  }
}

/**
 * Attributes the fleet's slot time (`concurrency × wall time`) from the runs' events and the
 * providers' summed call durations (`spans`, see `../run-overhead/timing.ts`).
 */
export async function fleetBreakdown(
  store: Store,
  runIds: readonly string[],
  spans: Record<string, number>,
  slotMs: number,
): Promise<FleetBreakdown> {
  let busy = 0;
  let claim = 0;
  let ready = 0;
  let steps = 0;
  let publish = 0;
  for (const runId of runIds) {
    const events = await allEvents(store, runId);
    const claimed = events.find((e) => e.type === 'run.status' && e.data.status === 'provisioning');
    const completed = events.find((e) => e.type === 'run.completed');
    const workspace = events.find((e) => e.type === 'workspace.ready');
    if (!claimed || !completed || workspace?.type !== 'workspace.ready') continue;
    busy += completed.at.getTime() - claimed.at.getTime();
    claim += workspace.at.getTime() - workspace.data.ms - claimed.at.getTime();
    ready += workspace.data.ms;
    for (const event of events) {
      if (event.type !== 'step.finished') continue;
      if (event.data.kind === 'publish') publish += event.data.ms;
      else steps += event.data.ms;
    }
  }
  const span = (name: string) => spans[name] ?? 0;
  const provisionOther = ready - span('scm.fetch') - span('scm.checkout') - span('sandbox.create');
  const parts: FleetBreakdown = {
    'idle slot': slotMs - busy,
    'claim → executor': claim,
    fetch: span('scm.fetch'),
    checkout: span('scm.checkout'),
    'sandbox.create': span('sandbox.create'),
    'provision.other': provisionOther,
    'setup+script+tests': steps,
    'publish.stage': span('view.exec'),
    'publish.git': span('scm.publish') - span('view.exec'),
    'publish.record': publish - span('scm.publish'),
    'sandbox.destroy': span('sandbox.destroy'),
    'events+conclude': busy - claim - ready - steps - publish - span('sandbox.destroy'),
  };
  const n = Math.max(1, runIds.length);
  return Object.fromEntries(FLEET_PARTS.map((part) => [part, Math.round(parts[part] / n)])) as FleetBreakdown;
}
