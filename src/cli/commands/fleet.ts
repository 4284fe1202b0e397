import type { Command } from 'commander';
import { invalidInput } from '../../core/errors.ts';
import { plural } from '../../core/plural.ts';
import { currentUser } from '../../engine/index.ts';
import { lapsedText } from '../../fleets/progress.ts';
import { FLEET_REPO_STATES, type FleetRepoState } from '../../fleets/store.ts';
import { type GlobalOptions, nobodyExecutes, openClient } from '../context.ts';
import { applyCommand, type Executor, followAndReport, waitingAdvice } from '../fleet/apply.ts';
import { burnDown, fleetLine, repoLine, statusSummary } from '../fleet/render.ts';
import type { FleetsClient } from '../fleets-client.ts';
import { print, printJson } from '../output.ts';

const HELP = `
Exit codes: 0 every repo succeeded (or had nothing to change), 10 some repo failed or the fleet
was paused (stop_when), 2 bad spec or unknown fleet, 130 Ctrl-C stopped following it. See
docs/fleets.md.`;

/**
 * Opens Nightshift for a fleet command (the engine here, or the API of the process or server
 * owning the home), runs `fn` on its fleets, closes it.
 */
async function withFleets<T>(
  command: Command,
  worker: boolean,
  fn: (fleets: FleetsClient, json: boolean, executor: Executor) => Promise<T>,
): Promise<T> {
  const global = command.optsWithGlobals<GlobalOptions>();
  const client = await openClient(global, { worker, command: `nightshift fleet ${command.name()}` });
  const executor: Executor =
    client.mode === 'remote' ? 'remote' : nobodyExecutes(client, worker) ? 'none' : 'embedded';
  try {
    return await fn(client.fleets, global.json ?? false, executor);
  } finally {
    await client.close();
  }
}

export function registerFleet(program: Command): void {
  const fleet = program
    .command('fleet')
    .description('apply one change to many repositories, and watch it converge')
    .addHelpText('after', HELP);
  fleet
    .command('apply')
    .description(
      'preview, then queue a run per repo and execute them (idempotent: finished repos are not redone)',
    )
    .argument('<spec>', 'fleet spec file (YAML)')
    .option('--dry-run', 'show which repos would run, and what, without queuing anything')
    .option('--detach', 'queue the runs and return; `nightshift worker` executes them')
    .action(async (file: string, options: { dryRun?: boolean; detach?: boolean }, command: Command) => {
      process.exitCode = await withFleets(
        command,
        !options.dryRun && !options.detach,
        (fleets, json, executor) =>
          applyCommand(fleets, file, { ...options, json, executor, author: currentUser() }),
      );
    });
  fleet
    .command('status')
    .description('counts per state, failures grouped by message, and the table of repos')
    .argument('<name>', 'fleet name')
    .option('--state <state>', `only repos in this state (${FLEET_REPO_STATES.join(', ')})`)
    .option('--series', 'also the counts over time (a burn-down)')
    .option('--refresh', 'first read the state and checks of every pull request from GitHub')
    .action(
      async (
        name: string,
        options: { state?: string; series?: boolean; refresh?: boolean },
        command: Command,
      ) => {
        if (options.state && !FLEET_REPO_STATES.includes(options.state as FleetRepoState)) {
          throw invalidInput(
            `unknown state "${options.state}"`,
            `use one of ${FLEET_REPO_STATES.join(', ')}`,
          );
        }
        const state = options.state as FleetRepoState | undefined;
        await withFleets(command, false, async (fleets, json, executor) => {
          const refreshed = options.refresh ? await fleets.refresh(name) : undefined;
          const status = await fleets.status(name);
          if (json) {
            const repos = [];
            for await (const row of fleets.repos(name, state)) repos.push(row);
            const series = options.series ? await fleets.series(name) : undefined;
            printJson({ ...status, repos, series, refreshed });
            return;
          }
          if (refreshed) {
            print(
              `refreshed ${refreshed.refreshed} pull requests from GitHub (${refreshed.updated} changed)`,
            );
            for (const e of refreshed.errors) print(`  ${e.repo}: ${e.message}`);
          }
          print(statusSummary(status) + waitingAdvice(status, executor));
          // A paused or cancelled fleet's queued runs wait for it, not for a worker.
          const queued = status.fleet.state === 'active' ? status.counts.queued : 0;
          const { running } = status.counts;
          if (executor === 'none' && queued + running > 0) print(idleAdvice(queued, running));
          else if (status.lapsed > 0)
            print(`\n${lapsedText(status.lapsed)} (\`nightshift serve\` or \`nightshift worker\`)`);
          if (options.series) {
            const series = await fleets.series(name);
            const from = series[0] ? ` (from ${new Date(series[0].at).toISOString()})` : '';
            print(`\ncounts over time${from}:\n${burnDown(series)}`);
          }
          print('');
          for await (const row of fleets.repos(name, state)) print(repoLine(row));
        });
      },
    );
  fleet
    .command('list')
    .description('every fleet with its state')
    .action(async (_options, command: Command) => {
      await withFleets(command, false, async (client, json) => {
        const fleets = await client.list();
        if (json) printJson(fleets);
        else if (fleets.length === 0) print('no fleets yet: `nightshift fleet apply SPEC` starts one');
        else for (const f of fleets) print(fleetLine(f));
      });
    });
  fleet
    .command('retry')
    .description('queue a new run for every failed repo (same inputs, same branch) and execute them')
    .argument('<name>', 'fleet name')
    .requiredOption('--failed', 'retry the failed repos (the only kind of retry)')
    .option('--detach', 'queue them and return; `nightshift worker` executes them')
    .action(async (name: string, options: { detach?: boolean }, command: Command) => {
      process.exitCode = await withFleets(command, !options.detach, async (fleets, json, executor) => {
        const result = await fleets.retry(name, currentUser());
        const runBy = options.detach && result.retried > 0 ? '; `nightshift worker` runs them' : '';
        const what = `fleet ${name}: ${plural(result.retried, 'failed repo')} queued again${runBy}`;
        if (result.retried === 0 || options.detach) return said(result, json, what);
        if (!json) print(what);
        return followAndReport(fleets, name, result, { json, executor });
      });
    });
  fleet
    .command('resume')
    .description('start runs again after a pause (or a stop_when), and execute them')
    .argument('<name>', 'fleet name')
    .option('--detach', 'resume it and return; `nightshift worker` executes its runs')
    .action(async (name: string, options: { detach?: boolean }, command: Command) => {
      process.exitCode = await withFleets(command, !options.detach, async (fleets, json, executor) => {
        const result = await fleets.resume(name);
        const what = `fleet ${name}: ${result.fleet.state}`;
        if (options.detach) return said(result, json, what);
        if (!json) print(what);
        return followAndReport(fleets, name, result, { json, executor });
      });
    });
  fleet
    .command('pause')
    .description('stop starting runs (running ones finish); `resume` continues')
    .argument('<name>', 'fleet name')
    .action(async (name: string, _options, command: Command) => {
      await withFleets(command, false, async (fleets, json) => {
        const result = await fleets.pause(name, `paused by ${currentUser()}`);
        if (json) printJson(result);
        else print(`fleet ${name}: ${result.fleet.state}`);
      });
    });
  fleet
    .command('cancel')
    .description('cancel every run of the fleet that has not finished')
    .argument('<name>', 'fleet name')
    .action(async (name: string, _options, command: Command) => {
      await withFleets(command, false, async (fleets, json) => {
        const result = await fleets.cancel(name, currentUser());
        if (json) printJson(result);
        else print(`fleet ${name}: ${result.fleet.state} (${plural(result.cancelled, 'run')} cancelled)`);
      });
    });
}

/** Prints a command's result (`--json`) or what it did; exit code 0. */
function said(result: object, json: boolean, what: string): number {
  if (json) printJson(result);
  else print(what);
  return 0;
}

/**
 * Said under a fleet's status when no process executes the home's runs: the queued ones wait,
 * and the ones shown running were cut off when the process running them stopped.
 */
function idleAdvice(queued: number, running: number): string {
  const parts = [
    queued > 0 ? `the ${plural(queued, 'queued run')} wait${queued === 1 ? 's' : ''}` : '',
    running > 0
      ? `the ${plural(running, 'run')} shown running ${running === 1 ? 'was' : 'were'} cut off when the process running ${running === 1 ? 'it' : 'them'} stopped`
      : '',
  ].filter(Boolean);
  return `\nno process executes this home's runs now: ${parts.join(', and ')}; \`nightshift worker\` (or \`nightshift fleet apply\` again) runs and resumes them`;
}
