import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { automationsDir, parseAutomations } from '../../automations/index.ts';
import { formatProblem, type Problem } from '../../blueprints/problems.ts';
import { NightshiftError } from '../../core/errors.ts';
import { resolveHome } from '../../core/home.ts';
import { plural } from '../../core/plural.ts';
import type { AutomationsClient } from '../automations-client.ts';
import { type GlobalOptions, openClient } from '../context.ts';
import { print, printJson } from '../output.ts';
import { answerNote } from '../render.ts';

/** `nightshift automations validate|apply|list|run|history`. */
export function registerAutomations(program: Command): void {
  const automations = program
    .command('automations')
    .description(
      'automations: cron, webhook, Slack and manual triggers that start runs (docs/automations.md)',
    );

  automations
    .command('validate')
    .description('check automation files; exit 2 when any has problems')
    .argument('<files...>', 'automation YAML files')
    .action(async (files: string[], _options, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const results: { file: string; errors: Problem[]; warnings: Problem[]; automations: string[] }[] = [];
      for (const file of files) {
        const path = resolve(file);
        const text = await readFile(path, 'utf8').catch((error: Error) => {
          throw new NightshiftError('NOT_FOUND', `cannot read ${file}: ${error.message}`);
        });
        const repo = basename(dirname(path)) === '.nightshift' ? dirname(dirname(path)) : undefined;
        const parsed = parseAutomations(text, { source: path, cwd: repo ?? dirname(path), repo });
        results.push({
          file,
          errors: parsed.errors,
          warnings: parsed.warnings,
          automations: (parsed.automations ?? []).map((a) => a.name),
        });
      }
      if (global.json) printJson(results);
      else
        for (const { file, errors, warnings, automations: names } of results) {
          for (const problem of errors) print(`${formatProblem(problem, file)} (error)`);
          for (const problem of warnings) print(`${formatProblem(problem, file)} (warning)`);
          if (errors.length === 0) print(`${file}: ok (${names.join(', ') || 'no automations'})`);
        }
      if (results.some((r) => r.errors.length > 0)) process.exitCode = 2;
    });

  automations
    .command('apply')
    .description('sync the database with the automation files (the directory, and repos given)')
    .option(
      '--dir <dir>',
      'automations directory (default $NIGHTSHIFT_AUTOMATIONS_DIR or $NIGHTSHIFT_HOME/automations)',
    )
    .option('--repo <path...>', 'repos whose .nightshift/automations.yml to apply')
    .action(async (options: { dir?: string; repo?: string[] }, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const dir = resolve(options.dir ?? automationsDir(global.home ?? resolveHome()));
      await withAutomations(global, 'nightshift automations apply', async (automations) => {
        const result = await automations.apply({ dir, repos: (options.repo ?? []).map((r) => resolve(r)) });
        if (global.json) printJson({ applied: result.applied, removed: result.removed });
        else
          print(
            `applied ${result.applied.length} automation(s)${result.removed.length ? `, removed ${result.removed.join(', ')}` : ''} from ${dir}`,
          );
      });
    });

  automations
    .command('list')
    .description('list automations with their trigger and next fire time')
    .action(async (_options, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      await withAutomations(global, 'nightshift automations list', async (automations) => {
        const views = await automations.list();
        if (global.json) return printJson(views);
        if (views.length === 0)
          return print(
            'no automations (add files to the automations directory, then `nightshift automations apply`)',
          );
        for (const { automation: a, nextFireAt } of views) {
          const t = a.trigger;
          const trigger =
            t.kind === 'cron'
              ? `cron ${t.cron} ${t.timezone}`
              : t.kind === 'webhook'
                ? `webhook /webhooks/in/${t.webhook}`
                : t.kind;
          const next = nextFireAt ? `next ${nextFireAt.toISOString()}` : '';
          const fleet = a.fleet ? ` applies ${a.fleet}` : a.swarm ? ` starts swarm ${a.swarm}` : '';
          print(
            `${a.name.padEnd(24)} ${a.enabled ? 'enabled ' : 'disabled'} ${trigger.padEnd(36)} ${next}${fleet}`.trimEnd(),
          );
        }
      });
    });

  automations
    .command('run')
    .description('fire an automation now, on all its targets')
    .argument('<name>')
    .action(async (name: string, _options, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      await withAutomations(global, 'nightshift automations run', async (automations) => {
        const fire = await automations.run(name);
        if (global.json) return printJson(fire);
        print(`${fire.id} ${fire.outcome}${fire.reason ? `: ${fire.reason}` : ''}`);
        for (const runId of fire.runIds.slice(0, LISTED_RUNS))
          print(`  ${runId}  (nightshift logs ${runId} --follow)`);
        if (fire.runIds.length > LISTED_RUNS)
          print(`  and ${plural(fire.runIds.length - LISTED_RUNS, 'more run')} (\`nightshift runs\`)`);
        if (fire.outcome === 'failed') process.exitCode = 1;
      });
    });

  automations
    .command('history')
    .description('the latest fires of an automation and the runs they started')
    .argument('<name>')
    .option('--limit <n>', 'how many (default 20)', '20')
    .action(async (name: string, options: { limit: string }, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      await withAutomations(global, 'nightshift automations history', async (automations) => {
        const fires = await automations.history(name, Number(options.limit) || 20);
        if (global.json) return printJson(fires);
        for (const f of fires) {
          const when = (f.slot ?? f.createdAt).toISOString();
          const flag = f.catchUp ? ' catch-up' : '';
          print(
            `${when} ${f.kind.padEnd(7)} ${f.outcome}${flag} ${someRuns(f.runIds)}${f.reason ? ` — ${f.reason}` : ''}${answerNote(f)}`,
          );
        }
      });
    });
}

/** Runs `use` on the automations of this process, or of the process (or `--server`) owning the home. */
async function withAutomations(
  global: GlobalOptions,
  command: string,
  use: (automations: AutomationsClient) => Promise<void>,
) {
  const client = await openClient(global, { worker: false, command });
  try {
    await use(client.automations);
  } finally {
    await client.close();
  }
}

/** Most runs of one fire listed (a fleet automation's fire may start hundreds). */
const LISTED_RUNS = 10;

/** A fire's run ids on one line: the first `LISTED_RUNS`, then how many more. */
function someRuns(ids: string[]): string {
  const more = ids.length > LISTED_RUNS ? ` and ${ids.length - LISTED_RUNS} more` : '';
  return `${ids.slice(0, LISTED_RUNS).join(' ')}${more}`;
}
