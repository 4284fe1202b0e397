import type { RunEvent } from '../../src/core/events.ts';

/** Where the wall time of one run went, in milliseconds; the parts add up to the total. */
export type Breakdown = Record<BreakdownPart, number>;

export const BREAKDOWN_PARTS = [
  'submit.resolve',
  'submit.other',
  'claim',
  'fetch',
  'checkout',
  'sandbox.create',
  'provision.other',
  'script',
  'publish.stage',
  'publish.git',
  'publish.record',
  'sandbox.destroy',
  'store+scheduling',
] as const;
export type BreakdownPart = (typeof BREAKDOWN_PARTS)[number];

/** What the benchmark saw of one run: its clock readings (epoch ms), events and provider spans. */
export interface RunTrace {
  /** Just before `engine.submit`. */
  start: number;
  /** When `engine.submit` returned (the run was queued). */
  submitted: number;
  /** When the benchmark saw the run complete. */
  end: number;
  events: RunEvent[];
  spans: Record<string, number>;
}

/**
 * Attributes a run's wall time: `submit` (resolve the repo; load the blueprint, insert the run), `claim`
 * (queued until the executor starts), the provisioning parts (`workspace.ready` ms split with
 * the provider spans), the script step, the publish step (staging with `git add` in the
 * workspace view, the other git work, recording the change), destroying the sandbox, and the
 * rest: event and status writes between steps, concluding the run, and noticing it.
 */
export function breakdownOf(trace: RunTrace): Breakdown {
  const ready = find(trace.events, 'workspace.ready');
  const readyMs = (ready.data as { ms: number }).ms;
  const execStart = ready.at.getTime() - readyMs;
  const stepMs = (step: string) => {
    const finished = trace.events.find(
      (e) => e.type === 'step.finished' && (e.data as { step: string }).step === step,
    );
    return finished ? (finished.data as { ms: number }).ms : 0;
  };
  const span = (name: string) => trace.spans[name] ?? 0;
  const fetch = span('scm.fetch');
  const checkout = span('scm.checkout');
  const create = span('sandbox.create');
  const publishMs = stepMs('publish');
  const parts: Omit<Breakdown, 'store+scheduling'> = {
    'submit.resolve': span('scm.resolve'),
    'submit.other': trace.submitted - trace.start - span('scm.resolve'),
    claim: execStart - trace.submitted,
    fetch,
    checkout,
    'sandbox.create': create,
    'provision.other': readyMs - fetch - checkout - create,
    script: stepMs('setup') + stepMs('script') + stepMs('tests'),
    'publish.stage': span('view.exec'),
    'publish.git': span('scm.publish') - span('view.exec'),
    'publish.record': publishMs - span('scm.publish'),
    'sandbox.destroy': span('sandbox.destroy'),
  };
  const named = Object.values(parts).reduce((sum, ms) => sum + ms, 0);
  return { ...parts, 'store+scheduling': trace.end - trace.start - named };
}

function find(events: RunEvent[], type: RunEvent['type']): RunEvent {
  const event = events.find((e) => e.type === type);
  if (!event) throw new Error(`the run has no ${type} event`);
  return event;
}
