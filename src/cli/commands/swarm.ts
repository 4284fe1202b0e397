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
      '\nExit codes: as `nightshift run`, for the converge run (0 success); 130 Ctrl-C stopped it (run the\nsame spec again to continue it). See docs/fleets.md#swarms.',
    )
    .action(async (file: string, _options, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions>();
      const { spec, dir } = await readSpec(file, parseSwarmSpec);
      const client = await openClient(global, { worker: true, command: 'nightshift swarm' });
      // Ctrl-C stops here; running the spec again continues the swarm (a second one exits at once).
      const interrupt = new AbortController();
      const onInterrupt = () => {
        if (interrupt.signal.aborted) process.exit(130);
        interrupt.abort(new Error('interrupted'));
      };
      process.on('SIGINT', onInterrupt);
      try {
        const engine = engineOf(client);
        const result = await runSwarm(
          {
            store: engine.store,
            scm: engine.scm,
            author: engine.config.author,
            defaultTimeoutMs: engine.config.defaultTimeoutMs,
            unrunnable: (blueprint) => engine.withoutModelProvider(blueprint),
          },
          spec,
          dir,
          global.json ? undefined : (line) => print(`swarm ${spec.name}: ${line}`),
          interrupt.signal,
        ).catch((error: unknown) => {
          if (interrupt.signal.aborted) return null;
          throw error;
        });
        if (!result) {
          if (global.json) printJson({ name: spec.name, interrupted: true });
          else
            print(
              `swarm ${spec.name}: stopped; run \`nightshift swarm ${file}\` again to continue it (its runs resume, none starts twice)`,
            );
          process.exitCode = 130;
          return;
        }
        if (global.json) printJson(result);
        else
          print(
            result.conclusion === 'success'
              ? `swarm ${spec.name}: one change on ${result.branch} (${result.head?.slice(0, 8)}), crediting ${plural(result.facets.filter((f) => f.conclusion === 'success').length, 'facet')}${result.url ? `: ${result.url}` : ''}`
              : `swarm ${spec.name}: ${result.conclusion}${result.reason ? `: ${result.reason}` : ''}`,
          );
        process.exitCode = EXIT_CODES[result.conclusion];
      } finally {
        process.off('SIGINT', onInterrupt);
        await client.close();
      }
    });
}
