import type { Command } from 'commander';
import pc from 'picocolors';
import { homePaths, resolveHome } from '../../core/home.ts';
import { plural } from '../../core/plural.ts';
import { EXIT_CODES, type Run } from '../../core/run.ts';
import { currentUser } from '../../engine/index.ts';
import type { RunDetails } from '../client.ts';
import { type GlobalOptions, openClient } from '../context.ts';
import { DEMO_SCRIPT, ensureDemoRepos } from '../demo-repos.ts';
import { followRun } from '../follow.ts';
import { print, printJson } from '../output.ts';
import { duration, state } from '../render.ts';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('create sample repositories under the Nightshift home and run a `script` blueprint on each')
    .action(async (_options, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const home = global.home ?? resolveHome();
      const repos = ensureDemoRepos(homePaths(home).demo);
      const client = await openClient({ ...global, home }, { worker: true, command: 'nightshift demo' });
      try {
        if (!global.json) {
          print(pc.bold(`Nightshift demo: ${repos.length} sample repositories in ${homePaths(home).demo}`));
          print(pc.dim(`script blueprint, codemod:\n${DEMO_SCRIPT.replace(/^/gm, '  ')}\n`));
        }
        const runs: Run[] = [];
        for (const repo of repos) {
          runs.push(
            await client.submit({ repo, script: DEMO_SCRIPT, trigger: 'demo', author: currentUser() }),
          );
        }
        const names = new Map(runs.map((run, i) => [run.id, repos[i]!.split('/').at(-1)!]));
        await Promise.all(
          runs.map((run) =>
            followRun(client, run.id, 0, (event) => {
              if (global.json) return;
              const name = pc.cyan(names.get(run.id)!.padEnd(10));
              if (event.type === 'step.finished' && !event.data.skipped) {
                const mark = event.data.ok ? pc.green('✓') : pc.red('✗');
                print(`${name} ${mark} ${event.data.step} ${pc.dim(duration(event.data.ms))}`);
              } else if (event.type === 'run.completed') {
                print(
                  `${name} ● ${event.data.conclusion}${event.data.reason ? `: ${event.data.reason}` : ''}`,
                );
              }
            }),
          ),
        );
        const results: RunDetails[] = [];
        for (const run of runs) results.push(await client.run(run.id));
        if (global.json) printJson(results);
        else printSummary(results);
        const worst = Math.max(...results.map((r) => (r.run.conclusion ? EXIT_CODES[r.run.conclusion] : 1)));
        process.exitCode = worst;
      } finally {
        await client.close();
      }
    });
}

function printSummary(results: RunDetails[]): void {
  print(pc.bold('\nResults'));
  for (const { run, repo, change } of results) {
    print(`${pc.cyan(repo.name.padEnd(10))} ${state(run)}  ${run.id}`);
    if (!change) continue;
    const s = change.diffstat;
    print(`  branch ${pc.bold(change.branch)} @ ${change.headCommit.slice(0, 12)} in ${repo.url}`);
    print(
      `  ${plural(s.files, 'file')} changed, ${pc.green(`+${s.insertions}`)} ${pc.red(`-${s.deletions}`)}`,
    );
    for (const file of s.perFile)
      print(`    ${file.path} ${pc.green(`+${file.insertions}`)} ${pc.red(`-${file.deletions}`)}`);
  }
  print(pc.dim('\nSee a change with `nightshift diff RUN`, the history with `nightshift logs RUN`.'));
}
