import pc from 'picocolors';
import { sleep } from '../../core/clock.ts';
import { plural } from '../../core/plural.ts';
import type { PlannedRepo, UnusableTarget } from '../../fleets/apply.ts';
import { parseFleetSpec } from '../../fleets/parse.ts';
import type { FleetStatus } from '../../fleets/service.ts';
import type { FleetsClient } from '../fleets-client.ts';
import { print, printJson } from '../output.ts';
import { progressLine, statusSummary } from './render.ts';
import { readSpec } from './spec.ts';

export interface ApplyCliOptions {
  dryRun?: boolean;
  detach?: boolean;
  json: boolean;
  author: string;
}

const ACTION_COLOUR = { create: pc.green, update: pc.yellow, unchanged: pc.dim };

function planLine(repo: PlannedRepo, dryRun: boolean): string {
  const what = repo.inputs.script ?? repo.inputs.prompt ?? '';
  const verb = dryRun
    ? { create: 'would run', update: 'would rerun', unchanged: 'would skip' }
    : { create: 'queued', update: 'requeued', unchanged: 'skipped' };
  return `${ACTION_COLOUR[repo.action](verb[repo.action].padEnd(11))} ${repo.repo.padEnd(24)} ${pc.dim(`${repo.why}; ${repo.branch}: ${what.split('\n')[0]!.slice(0, 60)}`)}`;
}

function unusableLine(target: UnusableTarget): string {
  return `${pc.red('unusable'.padEnd(11))} ${target.source.padEnd(24)} ${target.error}`;
}

/** What to do about the targets left out: fix them, (apply again, when the others were applied). */
function unusableAdvice(unusable: readonly UnusableTarget[], dryRun: boolean): string {
  const hints = [...new Set(unusable.map((target) => target.hint).filter((hint) => hint !== undefined))];
  const one = unusable.length === 1;
  const what = `${plural(unusable.length, 'target')} named no usable repository`;
  const them = one ? 'it' : 'them';
  return [
    dryRun
      ? `${what}: fix ${them} before applying, or ${one ? 'it is' : 'they are'} left out`
      : `${what} and ${one ? 'was' : 'were'} left out; fix ${them} and apply again (only ${them} will run)`,
    ...hints.map((hint) => `hint: ${hint}`),
  ].join('\n');
}

/** Waits until no repo is queued or running (or the fleet stopped), drawing a progress line on a TTY. */
async function follow(fleets: FleetsClient, name: string, json: boolean): Promise<FleetStatus> {
  const started = Date.now();
  const tty = process.stdout.isTTY && !json;
  let status = await fleets.status(name);
  const doneAtStart = status.total - status.counts.queued - status.counts.running - status.counts.pending;
  let lastPrinted = '';
  for (;;) {
    const line = progressLine(status, started, doneAtStart);
    if (tty) process.stdout.write(`\r${line}\u001b[K`);
    else if (!json && line.split(' · ETA')[0] !== lastPrinted) {
      // Without a terminal, one line whenever the counts change (logs stay readable).
      print(line);
      lastPrinted = line.split(' · ETA')[0]!;
    }
    const { queued, running } = status.counts;
    if (running === 0 && (queued === 0 || status.fleet.state !== 'active')) break;
    await sleep(tty ? 250 : 1000);
    status = await fleets.status(name);
  }
  if (tty) process.stdout.write('\n');
  return status;
}

/** `nightshift fleet apply`: preview, queue, then (unless detached) execute with a progress line. Returns the exit code. */
export async function applyCommand(
  fleets: FleetsClient,
  file: string,
  options: ApplyCliOptions,
): Promise<number> {
  // Parsed here first, so a bad spec is reported before anything is contacted.
  const { spec, dir, text } = await readSpec(file, parseFleetSpec);
  const { planned, ...summary } = await fleets.apply({
    text,
    file,
    cwd: dir,
    dryRun: options.dryRun,
    author: options.author,
  });
  const { unusable } = summary;
  if (!options.json) {
    for (const repo of planned) print(planLine(repo, options.dryRun ?? false));
    for (const target of unusable) print(unusableLine(target));
  }
  const counts = `${summary.create} new, ${summary.update} changed, ${summary.unchanged} unchanged${unusable.length > 0 ? `, ${unusable.length} unusable` : ''}`;
  // Targets left out are bad input (exit code 2) even though the others were applied.
  const advise = () => {
    if (unusable.length === 0) return;
    if (!options.json) print(unusableAdvice(unusable, options.dryRun ?? false));
    return 2;
  };
  if (options.dryRun || options.detach) {
    if (options.json) printJson(summary);
    else
      print(
        `fleet ${spec.name}: ${plural(summary.repos, 'repo')} (${counts})${options.dryRun ? '; dry run, nothing queued' : '; queued: `nightshift worker` runs them'}`,
      );
    return advise() ?? 0;
  }
  if (!options.json) print(`fleet ${spec.name}: ${plural(summary.repos, 'repo')} (${counts})`);
  const status = await follow(fleets, spec.name, options.json);
  if (options.json) printJson({ ...summary, status });
  else print(statusSummary(status));
  return advise() ?? (status.counts.failed > 0 || status.fleet.state !== 'active' ? 10 : 0);
}
