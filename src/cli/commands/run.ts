import type { Command } from 'commander';
import { parseDuration } from '../../core/clock.ts';
import { invalidInput } from '../../core/errors.ts';
import { EXIT_CODES } from '../../core/run.ts';
import { currentUser } from '../../engine/index.ts';
import type { Client } from '../client.ts';
import { type GlobalOptions, openClient } from '../context.ts';
import { followRun } from '../follow.ts';
import { print, printJson } from '../output.ts';
import { formatEvent, runDetails } from '../render.ts';
import { repoLocation } from './shared.ts';

interface RunOptions {
  repo: string;
  prompt?: string;
  script?: string;
  blueprint?: string;
  base?: string;
  harness?: string;
  model?: string;
  timeout?: string;
  follow?: boolean;
  detach?: boolean;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run a blueprint on a repository in a sandbox, and wait for its conclusion')
    .requiredOption('--repo <path>', 'git repository: a path or file:// URL')
    .option('--prompt <text>', 'task for the agent (blueprint `default`)')
    .option('--script <cmd>', 'shell command to run instead of an agent (blueprint `script`)')
    .option('--blueprint <name|file>', 'built-in blueprint (default, script) or a YAML file')
    .option('--base <ref>', 'branch, tag or commit to start from (default: the default branch)')
    .option(
      '--harness <name>',
      'agent harness for agent steps that name none (see `nightshift harness list`)',
    )
    .option('--model <provider:model>', 'model for agent steps that name none, e.g. openai:gpt-5')
    .option(
      '--timeout <duration>',
      'wall-clock limit of the run, e.g. 30m (default: the blueprint’s, else 30m)',
    )
    .option('--follow', 'also stream the output of every step as it happens')
    .option('--detach', 'queue the run and return; `nightshift worker` (or a running server) executes it')
    .addHelpText(
      'after',
      '\nExamples:\n  nightshift run --repo ./api --script "npx prettier --write ."\n  nightshift run --repo ./api --prompt "Fix the flaky test" --follow',
    )
    .action(async (options: RunOptions, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const timeoutMs = options.timeout === undefined ? undefined : parseDuration(options.timeout);
      if (timeoutMs === undefined && options.timeout !== undefined) {
        throw invalidInput(`--timeout ${options.timeout} is not a duration`, 'use e.g. 90s, 15m or 2h');
      }
      const open = () => openClient(global, { worker: !options.detach, command: 'nightshift run' });
      let client = await open();
      try {
        const outcome = await runAndWait(client, open, options, timeoutMs, global.json ?? false);
        client = outcome.client;
        process.exitCode = outcome.exitCode;
      } finally {
        await client.close();
      }
    });
}

async function runAndWait(
  opened: Client,
  reopen: () => Promise<Client>,
  options: RunOptions,
  timeoutMs: number | undefined,
  json: boolean,
): Promise<{ exitCode: number; client: Client }> {
  const client = opened;
  const run = await client.submit({
    repo: repoLocation(options.repo),
    prompt: options.prompt,
    script: options.script,
    blueprint: options.blueprint,
    cwd: process.cwd(),
    baseRef: options.base,
    harness: options.harness,
    model: options.model,
    timeoutMs,
    trigger: 'cli',
    author: currentUser(),
  });
  if (options.detach) {
    if (json) printJson(run);
    else
      print(`run ${run.id} queued (${run.blueprint}); follow it with \`nightshift logs ${run.id} --follow\``);
    return { exitCode: 0, client };
  }
  if (!json) print(`run ${run.id} queued (${run.blueprint})`);
  return watchRun(client, reopen, run.id, { output: options.follow ?? false, json });
}

/**
 * Follows a run to its conclusion, printing its events (Ctrl-C cancels it), then its details;
 * the exit code is the conclusion's.
 */
export async function watchRun(
  opened: Client,
  reopen: () => Promise<Client>,
  runId: string,
  options: { output: boolean; json: boolean },
): Promise<{ exitCode: number; client: Client }> {
  let client = opened;
  const { json } = options;
  let interrupts = 0;
  const onInterrupt = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    if (!json) print('cancelling the run… (Ctrl-C again to leave now; an unfinished run resumes next time)');
    client.cancel(runId, currentUser()).catch(() => {});
  };
  process.on('SIGINT', onInterrupt);
  try {
    ({ client } = await followRun(
      client,
      runId,
      0,
      (event) => {
        if (json) return;
        const line = formatEvent(event, { output: options.output });
        if (line !== null) process.stdout.write(event.type === 'step.output' ? line : `${line}\n`);
      },
      { reconnect: reopen },
    ));
  } finally {
    process.off('SIGINT', onInterrupt);
  }
  const details = await client.run(runId);
  if (json) printJson(details);
  else print(`\n${runDetails(details)}`);
  return { exitCode: details.run.conclusion ? EXIT_CODES[details.run.conclusion] : 1, client };
}
