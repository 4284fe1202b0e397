import type { Command } from 'commander';
import { plural } from '../../core/plural.ts';
import { EXIT_CODES } from '../../core/run.ts';
import { parseSwarmSpec } from '../../fleets/parse.ts';
import { runSwarm } from '../../fleets/swarm.ts';
import { type GlobalOptions, openClient } from '../context.ts';
import { engineOf, readSpec } from '../fleet/spec.ts';
import { print, printJson } from '../output.ts';

export function registerSwarm(program: Command): void {
  program
    .command('swarm')
    .description('split a goal into facets run in parallel, converge them into one change')
    .argument('<spec>', 'swarm spec file (YAML)')
    .addHelpText(
      'after',
      '\nExit codes: as `nightshift run`, for the converge run (0 success). See docs/fleets.md#swarms.',
    )
    .action(async (file: string, _options, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const { spec, dir } = await readSpec(file, parseSwarmSpec);
      const client = await openClient(global, { worker: true, command: 'nightshift swarm' });
      try {
        const engine = engineOf(client);
        const result = await runSwarm(
          {
            store: engine.store,
            scm: engine.scm,
            author: engine.config.author,
            defaultTimeoutMs: engine.config.defaultTimeoutMs,
          },
          spec,
          dir,
          global.json ? undefined : (line) => print(`swarm ${spec.name}: ${line}`),
        );
        if (global.json) printJson(result);
        else
          print(
            result.conclusion === 'success'
              ? `swarm ${spec.name}: one change on ${result.branch} (${result.head?.slice(0, 8)}), crediting ${plural(result.facets.filter((f) => f.conclusion === 'success').length, 'facet')}${result.url ? `: ${result.url}` : ''}`
              : `swarm ${spec.name}: ${result.conclusion}${result.reason ? `: ${result.reason}` : ''}`,
          );
        process.exitCode = EXIT_CODES[result.conclusion];
      } finally {
        await client.close();
      }
    });
}
