import pc from 'picocolors';
import { sleep } from '../../core/clock.ts';
import { plural } from '../../core/plural.ts';
import { applyCounts, type PlannedRepo, type RemovedRepo, type UnusableTarget } from '../../fleets/apply.ts';
import { parseFleetSpec, readSpec } from '../../fleets/parse.ts';
import type { FleetStatus } from '../../fleets/service.ts';
import type { FleetsClient } from '../fleets-client.ts';
import { print, printJson } from '../output.ts';
import { progressLine, statusSummary } from './render.ts';

/**
 * Where a fleet's runs execute while a fleet command runs: this process's engine, the home's
 * owner (or a server), or nowhere (the command holds the embedded database and runs no worker).
 */
export type Executor = 'embedded' | 'remote' | 'none';

export interface ApplyCliOptions {
  dryRun?: boolean;
  detach?: boolean;
  json: boolean;
  author: string;
  executor: Executor;
}

const ACTION_COLOUR = { create: pc.green, update: pc.yellow, unchanged: pc.dim };

function planLine(repo: PlannedRepo, dryRun: boolean): string {
  const what = repo.inputs.script ?? repo.inputs.prompt ?? '';
  const verb = dryRun
    ? { create: 'would run', update: 'would rerun', unchanged: 'would skip' }
    : { create: 'queued', update: 'requeued', unchanged: 'skipped' };
  return `${ACTION_COLOUR[repo.action](verb[repo.action].padEnd(11))} ${repo.repo.padEnd(24)} ${pc.dim(`${repo.why}; ${repo.branch}: ${what.split('\n')[0]!.slice(0, 60)}`)}`;
}

function removedLine(repo: RemovedRepo, dryRun: boolean): string {
  const run = repo.cancelled ? `; its run not finished ${dryRun ? 'would be' : 'is'} cancelled` : '';
  return `${pc.yellow((dryRun ? 'would remove' : 'removed').padEnd(11))} ${repo.repo.padEnd(24)} ${pc.dim(`no longer targeted${run}`)}`;
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

/** How a fleet was followed: its status at the end, and whether Ctrl-C ended the following first. */
interface Followed {
  status: FleetStatus;
  interrupted: boolean;
}

/**
 * Waits until no repo is queued or running (or the fleet stopped), drawing a progress line on a
 * TTY. Ctrl-C ends the wait (a second one exits at once); the caller says what becomes of the runs.
 */
async function follow(fleets: FleetsClient, name: string, json: boolean): Promise<Followed> {
  const started = Date.now();
  const tty = process.stdout.isTTY && !json;
  let interrupted = false;
  let wake = () => {};
  const onInterrupt = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    wake();
  };
  process.on('SIGINT', onInterrupt);
  try {
    // Only the counts while it goes (a few times a second); the whole status once, at the end.
    let progress = await fleets.progress(name);
    const doneAtStart =
      progress.total - progress.counts.queued - progress.counts.running - progress.counts.pending;
    let lastPrinted = '';
    for (;;) {
      const line = progressLine(progress, started, doneAtStart);
      if (tty) process.stdout.write(`\r${line}\u001b[K`);
      else if (!json && line.split(' · ETA')[0] !== lastPrinted) {
        // Without a terminal, one line whenever the counts change (logs stay readable).
        print(line);
        lastPrinted = line.split(' · ETA')[0]!;
      }
      const { queued, running } = progress.counts;
      if (interrupted || (running === 0 && (queued === 0 || progress.fleet.state !== 'active'))) break;
      await Promise.race([sleep(tty ? 250 : 1000), new Promise<void>((resolve) => (wake = resolve))]);
      if (!interrupted) progress = await fleets.progress(name);
    }
    if (tty) process.stdout.write('\n');
    return { status: await fleets.status(name), interrupted };
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

/**
 * What becomes of a fleet's runs when Ctrl-C ends the following: with the engine in this
 * process, they stop here and wait for the next worker; else the process owning the home goes on.
 */
function leftAdvice(name: string, executor: Executor): string {
  return executor !== 'remote'
    ? `stopped: the runs of fleet ${name} that did not finish wait for the next worker (\`nightshift worker\`, or \`nightshift fleet apply\` again)`
    : `stopped following: fleet ${name} goes on where its runs execute, the server or the process that owns the home (\`nightshift fleet status ${name}\`)`;
}

/**
 * Said under a fleet's status when changes wait for the rollout and this command's process
 * will not open them (it ends, or runs no worker): a worker that stays up does.
 */
export function waitingAdvice(status: FleetStatus, executor: Executor): string {
  const { waiting } = status.counts;
  if (waiting === 0 || executor === 'remote') return '';
  const these = waiting === 1 ? 'it opens' : 'they open';
  return `\n\n${plural(waiting, 'change')} wait${waiting === 1 ? 's' : ''} for the rollout (its rate and windows): ${these} while a worker runs, \`nightshift serve\` or \`nightshift worker\``;
}

/**
 * Follows the fleet, then prints `result` with the fleet's status (`--json`), or the status's
 * summary (or what becomes of the runs after Ctrl-C). Returns the exit code.
 */
export async function followAndReport(
  fleets: FleetsClient,
  name: string,
  result: object,
  options: { json: boolean; executor: Executor },
): Promise<number> {
  const followed = await follow(fleets, name, options.json);
  const { status, interrupted } = followed;
  if (options.json) printJson({ ...result, status, ...(interrupted ? { interrupted } : {}) });
  else if (interrupted) print(leftAdvice(name, options.executor));
  else print(statusSummary(status) + waitingAdvice(status, options.executor));
  return followedCode(followed);
}

/**
 * The exit code of a followed fleet: 130 when Ctrl-C ended the following, 10 when a repo failed
 * or the fleet stopped (paused, cancelled), else 0.
 */
function followedCode({ status, interrupted }: Followed): number {
  if (interrupted) return 130;
  return status.counts.failed > 0 || status.fleet.state !== 'active' ? 10 : 0;
}

/** `nightshift fleet apply`: preview, queue, then (unless detached) execute with a progress line. Returns the exit code. */
export async function applyCommand(
  fleets: FleetsClient,
  file: string,
  options: ApplyCliOptions,
): Promise<number> {
  // Parsed here first, so a bad spec is reported before anything is contacted.
  const { spec, dir, text } = await readSpec(file, parseFleetSpec);
  // Each repo's line as it is planned: a big fleet's apply shows its progress. With --json,
  // the planned repos are a list in the output.
  const planned: PlannedRepo[] = [];
  const listener = options.json
    ? { onRepo: (repo: PlannedRepo) => void planned.push(repo) }
    : {
        onRepo: (repo: PlannedRepo) => print(planLine(repo, options.dryRun ?? false)),
        onUnusable: (target: UnusableTarget) => print(unusableLine(target)),
        onWait: () =>
          print(`fleet ${spec.name}: another process is applying it; waiting for that apply to finish`),
      };
  const applied = await fleets.apply(
    { text, file, cwd: dir, dryRun: options.dryRun, author: options.author },
    listener,
  );
  const summary = options.json ? { ...applied, planned } : applied;
  const { unusable, removed } = summary;
  if (!options.json) for (const repo of removed) print(removedLine(repo, options.dryRun ?? false));
  const counts = applyCounts(summary);
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
  const code = await followAndReport(fleets, spec.name, summary, options);
  // Ctrl-C's 130 says more about this exit than the targets left out (their advice is above).
  return code === 130 ? code : (advise() ?? code);
}
