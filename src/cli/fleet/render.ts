import pc from 'picocolors';
import { plural } from '../../core/plural.ts';
import { fleetProgress, progressText } from '../../fleets/progress.ts';
import type { FleetProgress, FleetStatus } from '../../fleets/service.ts';
import type { FailureGroup, FleetCounts, FleetListed, FleetRepoRow } from '../../fleets/store.ts';
import { duration } from '../render.ts';

/** `done/total` bar with counts per state and an ETA from the pace so far (the state instead, when not active). */
export function progressLine(
  status: FleetProgress,
  startedMs: number,
  doneAtStart: number,
  width = 24,
): string {
  const { counts } = status;
  const { done, total } = fleetProgress(counts);
  const filled = total === 0 ? width : Math.round((done / total) * width);
  const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
  const elapsed = Date.now() - startedMs;
  const finishedHere = done - doneAtStart;
  // A paused or cancelled fleet starts nothing more: its state, not an ETA.
  const eta =
    status.fleet.state !== 'active'
      ? ` · ${status.fleet.state}`
      : finishedHere > 0 && done < total
        ? ` · ETA ${duration(Math.round((elapsed / finishedHere) * (total - done)))}`
        : '';
  const waiting = counts.waiting > 0 ? ` · ${counts.waiting} waiting for rollout` : '';
  return `[${bar}] ${done}/${total} done · ${counts.running} running · ${counts.queued} queued · ${counts.failed} failed${waiting}${eta}`;
}

const STATE_COLOUR: Record<string, (text: string) => string> = {
  succeeded: pc.green,
  no_changes: pc.dim,
  failed: pc.red,
  cancelled: pc.yellow,
  running: pc.cyan,
  waiting: pc.blue,
};

/** How a state reads in the summary. */
const STATE_LABEL: Record<string, string> = { waiting: 'waiting for rollout' };

/** One fleet of `nightshift fleet list`: name, state (and why), and its progress as last recorded. */
export function fleetLine(fleet: FleetListed): string {
  const state = `${fleet.state}${fleet.stateReason ? ` (${fleet.stateReason})` : ''}`;
  return `${fleet.name.padEnd(24)} ${state}${fleet.counts ? ` · ${progressText(fleet.counts)}` : ''}`;
}

/** The summary of `nightshift fleet status`: state, counts per state, failures grouped by message. */
export function statusSummary(status: FleetStatus): string {
  const { fleet, counts, total, failures, openFailures } = status;
  const lines = [
    `fleet ${pc.bold(fleet.name)}: ${fleet.state}${fleet.stateReason ? ` (${fleet.stateReason})` : ''} · ${plural(total, 'repo')}`,
    Object.entries(counts)
      .filter(([, n]) => n > 0)
      .map(([state, n]) =>
        (STATE_COLOUR[state] ?? ((text: string) => text))(`${STATE_LABEL[state] ?? state} ${n}`),
      )
      .join(' · ') || pc.dim('no repos'),
  ];
  if (status.nextChangeAt)
    lines.push(`rollout: the next waiting change may open ${openingIn(status.nextChangeAt)}`);
  const next = nextSteps(status);
  if (next) lines.push(pc.dim(next));
  lines.push(...groupLines('failures by message:', failures));
  lines.push(
    ...groupLines('changes not opened yet, by message (each retried with a backoff):', openFailures),
  );
  return lines.join('\n');
}

/** What a person can do about a fleet that starts no runs (paused, cancelled) with some not done. */
function nextSteps({ fleet, counts }: FleetStatus): string | null {
  const name = fleet.name;
  const undone = counts.pending + counts.queued + counts.failed + counts.cancelled;
  if (fleet.state === 'paused' && undone > 0) {
    const retry =
      counts.failed > 0 ? `, \`nightshift fleet retry ${name} --failed\` reruns the failed repos` : '';
    return `paused: \`nightshift fleet resume ${name}\` starts its runs again${retry}`;
  }
  if (fleet.state === 'cancelled' && undone > 0)
    return `cancelled: \`nightshift fleet apply SPEC\` starts the repos that did not finish again`;
  return null;
}

/** `now`, or `in 59m (2026-12-07T03:12:00.000Z)`. */
function openingIn(at: Date | string, now = Date.now()): string {
  const ms = new Date(at).getTime() - now;
  return ms < 1000 ? 'now' : `in ${duration(ms)} (${new Date(at).toISOString()})`;
}

/** A titled list of failure groups: count and message, then the first repos; nothing when empty. */
function groupLines(title: string, groups: readonly FailureGroup[]): string[] {
  if (groups.length === 0) return [];
  const lines = ['', title];
  for (const group of groups) {
    const more = group.count > group.repos.length ? ', ...' : '';
    lines.push(
      `  ${pc.red(String(group.count).padStart(4))}  ${group.reason}`,
      `        ${pc.dim(group.repos.join(', ') + more)}`,
    );
  }
  return lines;
}

/** Most rows of the burn-down table: a long fleet's points are sampled evenly (the last is always shown). */
const BURN_DOWN_ROWS = 20;

/**
 * `fleet status --series` as text: the counts over time, a row a point (sampled down to
 * `BURN_DOWN_ROWS`), each with the time since the first point, a bar of the repos done, and the
 * counts of done, running, queued and failed.
 */
export function burnDown(series: readonly { at: Date | string; counts: FleetCounts }[], width = 24): string {
  if (series.length === 0) return pc.dim('no counts recorded yet');
  const rows =
    series.length <= BURN_DOWN_ROWS
      ? series
      : Array.from(
          { length: BURN_DOWN_ROWS },
          (_, i) => series[Math.round((i * (series.length - 1)) / (BURN_DOWN_ROWS - 1))]!,
        );
  const start = new Date(series[0]!.at).getTime();
  return rows
    .map(({ at, counts }) => {
      const { done, total } = fleetProgress(counts);
      const filled = total === 0 ? 0 : Math.round((done / total) * width);
      const since = `+${duration(new Date(at).getTime() - start)}`;
      return `  ${since.padStart(9)}  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} done · ${counts.running} running · ${counts.queued + counts.pending} queued · ${counts.failed} failed`;
    })
    .join('\n');
}

const CHECKS_COLOUR: Record<string, (text: string) => string> = {
  passing: pc.green,
  failing: pc.red,
  pending: pc.yellow,
};

/** One row of the repo table. */
export function repoLine(row: FleetRepoRow): string {
  const state = (STATE_COLOUR[row.state] ?? ((text: string) => text))(row.state.padEnd(10));
  const checks = row.change?.checks
    ? ` ${(CHECKS_COLOUR[row.change.checks] ?? ((text: string) => text))(`checks ${row.change.checks}`)}`
    : '';
  const change = row.change
    ? `${row.change.draft ? 'draft' : row.change.state} ${row.change.headCommit.slice(0, 8)}${checks}`
    : '-';
  const reason = row.state === 'failed' && row.reason ? pc.dim(` ${row.reason.slice(0, 60)}`) : '';
  return `${String(row.position).padStart(4)}  ${row.repo.padEnd(24)} ${state} ${(row.runId?.slice(-8) ?? '-').padEnd(8)}  ${change}${reason}${openFailureText(row)}`;
}

/** Why a waiting change is not open yet: its last attempt's message, and when it is tried again. */
function openFailureText(row: FleetRepoRow): string {
  const failure = row.change?.openFailure;
  if (!failure) return '';
  // Dates arrive as strings through the API.
  const wait = failure.nextAttemptAt ? new Date(failure.nextAttemptAt).getTime() - Date.now() : 0;
  const next = wait > 0 ? `next attempt in ${duration(wait)}` : 'next attempt due';
  const attempts = plural(failure.attempts, 'attempt');
  return pc.red(` not opened (${attempts}, ${next}): ${failure.message.slice(0, 100)}`);
}
