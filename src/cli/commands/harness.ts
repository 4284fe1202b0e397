import type { Command } from 'commander';
import pc from 'picocolors';
import { cliHarnesses } from '../../agents/catalog.ts';
import { invalidInput } from '../../core/errors.ts';
import { resolveHome } from '../../core/home.ts';
import { engineConfig } from '../../engine/index.ts';
import type { GlobalOptions } from '../context.ts';
import { print, printJson } from '../output.ts';

function harnessesFor(command: Command) {
  const global = command.optsWithGlobals<GlobalOptions>();
  const { toolsDir } = engineConfig(global.home ?? resolveHome());
  return { global, toolsDir, harnesses: cliHarnesses({ toolsDir }) };
}

export function registerHarness(program: Command): void {
  const harness = program
    .command('harness')
    .description('the agent CLIs Nightshift can run (Claude Code, Codex) and their tools cache');

  harness
    .command('list')
    .description('each external harness: npm package, pinned version, installed or not')
    .action(async (_options, command: Command) => {
      const { global, toolsDir, harnesses } = harnessesFor(command);
      const rows = await Promise.all(
        harnesses.map(async (h) => ({
          name: h.name,
          package: h.tool.name,
          version: h.tool.version,
          installed: await h.installed(),
        })),
      );
      if (global.json) return printJson({ toolsDir, harnesses: rows });
      print(`builtin      (part of Nightshift)`);
      for (const row of rows) {
        const state = row.installed ? pc.green('installed') : pc.dim('not installed');
        print(`${row.name.padEnd(12)} ${`${row.package}@${row.version}`.padEnd(36)} ${state}`);
      }
      print(pc.dim(`tools cache: ${toolsDir}`));
    });

  harness
    .command('install')
    .description('install a harness CLI (or all) into the tools cache; runs install it on demand too')
    .argument('[name]', 'harness name (see `nightshift harness list`)')
    .option('--all', 'install every external harness')
    .action(async (name: string | undefined, options: { all?: boolean }, command: Command) => {
      const { global, harnesses } = harnessesFor(command);
      const chosen = options.all ? harnesses : harnesses.filter((h) => h.name === name);
      if (chosen.length === 0) {
        throw invalidInput(
          name ? `there is no external harness "${name}"` : 'name a harness to install, or pass --all',
          `external harnesses: ${harnesses.map((h) => h.name).join(', ')}`,
        );
      }
      const installed = [];
      for (const h of chosen) {
        const tool = await h.install(global.json ? undefined : (message) => print(`${h.name}: ${message}`));
        if (!global.json && tool.cached)
          print(`${h.name}: ${h.tool.name}@${h.tool.version} is already installed`);
        installed.push({
          name: h.name,
          package: h.tool.name,
          version: h.tool.version,
          dir: tool.dir,
          cached: tool.cached,
        });
      }
      if (global.json) printJson({ installed });
    });
}
