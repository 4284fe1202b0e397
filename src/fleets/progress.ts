import { plural } from '../core/plural.ts';
import type { FleetCounts } from './store.ts';

/** How far a fleet is: its repos done (concluded, those waiting for the rollout too) of all of them. */
export function fleetProgress(counts: FleetCounts): { done: number; total: number } {
  const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
  return { done: total - counts.pending - counts.queued - counts.running, total };
}

/** A fleet's progress in a line, as lists show it: `3/4 repos done · 1 failed · 1 waiting for rollout`. */
export function progressText(counts: FleetCounts): string {
  const { done, total } = fleetProgress(counts);
  const failed = counts.failed > 0 ? ` · ${counts.failed} failed` : '';
  const waiting = counts.waiting > 0 ? ` · ${counts.waiting} waiting for rollout` : '';
  return `${done}/${plural(total, 'repo')} done${failed}${waiting}`;
}

/**
 * Said of a fleet's runs shown running whose worker stopped (its lease lapsed; see
 * `FleetStatus.lapsed`), by `fleet status` and the dashboard.
 */
export function lapsedText(lapsed: number): string {
  return lapsed === 1
    ? 'the worker running one of the runs shown running stopped (its lease lapsed): the next worker to claim runs takes it over'
    : `the workers running ${lapsed} of the runs shown running stopped (their leases lapsed): the next worker to claim runs takes them over`;
}
