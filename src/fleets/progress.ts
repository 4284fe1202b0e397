import type { FleetCounts } from './store.ts';

/** How far a fleet is: its repos done (concluded, those waiting for the rollout too) of all of them. */
export function fleetProgress(counts: FleetCounts): { done: number; total: number } {
  const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
  return { done: total - counts.pending - counts.queued - counts.running, total };
}
