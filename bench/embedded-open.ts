/**
 * Opening the embedded database in a new process, as a command does. A new database from the
 * template (docs/configuration.md), beside the baseline of one made by `initdb` (a cache dir
 * that cannot be written, as before templates), interleaved in the same invocation; the first
 * new one, which leaves the template; the same in memory; and an existing database, for scale.
 * Medians of wall and CPU milliseconds, and the template's ratios to its baseline.
 *
 *   node --import tsx bench/embedded-open.ts [--rounds 5] [--json]
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { median, ratioOf, round } from './support/stats.ts';

const run = promisify(execFile);
const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    json: { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(flags.rounds);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) {
  throw new Error(`--rounds must be a positive whole number, not ${flags.rounds}`);
}

interface Sample {
  wallMs: number;
  cpuMs: number;
}

const KINDS = [
  'new, by initdb',
  'new, first',
  'new, from template',
  'memory, by initdb',
  'memory, from template',
  'existing',
] as const;
type Kind = (typeof KINDS)[number];

/** One open in a new process, of `where` (a dir, or `memory`), with the cache dir `cache`. */
async function open(where: string, cache: string): Promise<Sample> {
  const script = join(import.meta.dirname, 'embedded-open', 'open.ts');
  const { stdout } = await run(process.execPath, ['--import', 'tsx', script, where], {
    env: { ...process.env, NIGHTSHIFT_CACHE_DIR: cache },
  });
  return JSON.parse(stdout) as Sample;
}

const root = await mkdtemp(join(tmpdir(), 'nightshift-bench-open-'));
const samples = new Map<Kind, Sample[]>(KINDS.map((kind) => [kind, []]));
const sample = async (kind: Kind, where: string, cache: string) => {
  samples.get(kind)!.push(await open(where, cache));
};
try {
  // A cache dir under a regular file can never be made: every new database runs initdb.
  const none = join(root, 'file', 'cache');
  await writeFile(join(root, 'file'), '');
  for (let round = 1; round <= ROUNDS; round++) {
    const dir = join(root, `round-${round}`);
    const cache = join(dir, 'cache');
    await sample('new, by initdb', join(dir, 'initdb'), none);
    await sample('new, first', join(dir, 'first'), cache);
    await sample('new, from template', join(dir, 'template'), cache);
    await sample('memory, by initdb', 'memory', none);
    await sample('memory, from template', 'memory', cache);
    await sample('existing', join(dir, 'template'), cache);
    await rm(dir, { recursive: true, force: true });
    if (!flags.json) process.stderr.write(`round ${round}/${ROUNDS} done\n`);
  }
} finally {
  await rm(root, { recursive: true, force: true });
}

const medians = Object.fromEntries(
  KINDS.map((kind) => {
    const of = samples.get(kind)!;
    return [
      kind,
      { wallMs: round(median(of.map((s) => s.wallMs))), cpuMs: round(median(of.map((s) => s.cpuMs))) },
    ];
  }),
) as Record<Kind, Sample>;
const figures = {
  rounds: ROUNDS,
  medians,
  ratios: {
    newWall: ratioOf(medians['new, from template'].wallMs, medians['new, by initdb'].wallMs),
    newCpu: ratioOf(medians['new, from template'].cpuMs, medians['new, by initdb'].cpuMs),
    memoryWall: ratioOf(medians['memory, from template'].wallMs, medians['memory, by initdb'].wallMs),
    memoryCpu: ratioOf(medians['memory, from template'].cpuMs, medians['memory, by initdb'].cpuMs),
  },
};
if (flags.json) {
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
} else {
  process.stdout.write(`embedded database opened in a new process, medians of ${ROUNDS} rounds\n`);
  for (const kind of KINDS) {
    const { wallMs, cpuMs } = medians[kind];
    process.stdout.write(
      `  ${kind.padEnd(22)} wall ${String(wallMs).padStart(7)} ms   CPU ${String(cpuMs).padStart(7)} ms\n`,
    );
  }
  const { newWall, newCpu, memoryWall, memoryCpu } = figures.ratios;
  process.stdout.write(
    `  from the template: ${newWall}x the wall time and ${newCpu}x the CPU of initdb in a dir, ${memoryWall}x and ${memoryCpu}x in memory\n`,
  );
}
