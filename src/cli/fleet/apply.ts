import pc from 'picocolors';
import { sleep } from '../../core/clock.ts';
import type { PlannedRepo } from '../../fleets/apply.ts';
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
  if (!options.json) for (const repo of planned) print(planLine(repo, options.dryRun ?? false));
  const counts = `${summary.create} new, ${summary.update} changed, ${summary.unchanged} unchanged`;
  if (options.dryRun || options.detach) {
    if (options.json) printJson(summary);
    else
      print(
        `fleet ${spec.name}: ${summary.repos} repos (${counts})${options.dryRun ? '; dry run, nothing queued' : '; queued: `nightshift worker` runs them'}`,
      );
    return 0;
  }
  if (!options.json) print(`fleet ${spec.name}: ${summary.repos} repos (${counts})`);
  const status = await follow(fleets, spec.name, options.json);
  if (options.json) printJson({ ...summary, status });
  else print(statusSummary(status));
  return status.counts.failed > 0 || status.fleet.state !== 'active' ? 10 : 0;
}
