/**
 * A fleet of N generated local repos (default 200) with the `script` blueprint (a small codemod
 * plus each repo's test command), against a shell pipeline doing the same git work with
 * `xargs -P` at the same concurrency (fleet.baseline.sh), in one invocation; and the same
 * pipeline with the codemod and test in one bubblewrap sandbox per repo (what kernel isolation
 * alone costs). Prints the wall times, their ratio, the platform's per-repo overhead, the CPU
 * time per repo of each (all processes, from a cpuacct cgroup, as root), the engine process's
 * own CPU and peak memory, and where the fleet's slot time went.
 *
 *   node --import tsx bench/fleet.ts [--repos 200] [--concurrency 4] [--rounds 1] [--work MIB] [--postgres] [--json] [--profile FILE]
 *
 * `--rounds N` measures N times, each round on new repos (the two pipelines, then the fleet
 * with the engine open only meanwhile), and reports each round and the medians: a single
 * round on a shared machine can be off by a fifth either way.
 *
 * `--work MIB` makes each repo's test hash MIB MiB of zeros as well (in the baseline too): a
 * test suite with real CPU work, to show the fixed per-repo overhead against it.
 *
 * `--postgres` keeps the engine's records in a private PostgreSQL server started by the
 * benchmark (its CPU counts in the fleet's) instead of the embedded database.
 *
 * `--profile FILE` writes a CPU profile of the engine process during the first round's fleet
 * alone (open it in Chrome's DevTools): not its start-up, the baselines, or the clean-up.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { homePaths } from '../src/core/home.ts';
import { Engine, engineConfig } from '../src/engine/index.ts';
import { parseFleetSpec } from '../src/fleets/parse.ts';
import type { FleetStatus } from '../src/fleets/service.ts';
import { statFields } from '../src/process/index.ts';
import { LocalSandboxProvider } from '../src/sandbox/local/index.ts';
import { LocalScmProvider } from '../src/scm/local/index.ts';
import { createDatabase, type PostgresServer, startPostgres } from '../test/support/postgres.ts';
import { FLEET_PARTS, fleetBreakdown } from './fleet/breakdown.ts';
import { Spans, timedSandboxes, timedScm } from './run-overhead/timing.ts';
import { helpersCpuMs, openCpuMeter } from './support/cpu.ts';
import { median, ratioOf, round as roundTo } from './support/stats.ts';

const sh = promisify(execFile);

/** The process groups of the shell scripts running now (each started as the leader of its own). */
const scripts = new Set<number>();

/**
 * Runs a shell script in a process group of its own, so that a signal stopping the benchmark
 * can end it and everything it started (`xargs`, its pipelines, git): see {@link stopOnSignals}.
 */
async function shell(script: string, options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<void> {
  const child = spawn('sh', ['-c', script], {
    ...options,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const pid = child.pid;
  if (pid !== undefined) scripts.add(pid);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4096);
  });
  try {
    const [code, signal] = await once(child, 'close');
    if (code !== 0)
      throw new Error(
        `sh -c ${JSON.stringify(script.slice(0, 80))} failed (${signal ?? `exit ${code}`}): ${stderr}`,
      );
  } finally {
    if (pid !== undefined) scripts.delete(pid);
  }
}

/**
 * Kills the running scripts' process groups, and waits (up to 5 s) until their processes are
 * gone: a killed process may still write under the temporary dir for a moment, and removing the
 * dir before then could fail or leave its last files behind.
 */
async function endScripts(): Promise<void> {
  const groups = new Set(scripts);
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {}
  }
  const deadline = Date.now() + 5000;
  while (groups.size > 0 && runningIn(groups) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * On SIGINT or SIGTERM, runs `cleanUp` (the running scripts ended, the engine closed, the
 * PostgreSQL server stopped, the CPU meter's cgroup and the temporary dir removed) and exits as
 * a process ended by that signal would (128 + its number).
 */
function stopOnSignals(cleanUp: () => Promise<void>): void {
  for (const [signal, number] of [
    ['SIGINT', 2],
    ['SIGTERM', 15],
  ] as const) {
    process.once(signal, () => {
      void cleanUp().finally(() => process.exit(128 + number));
    });
  }
}

/** Whether a process of one of `groups` still runs (zombies, whose files are closed, aside). */
function runningIn(groups: Set<number>): boolean {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    // Index 0 is the state (field 3), index 2 the process group (field 5).
    const fields = statFields(Number(entry));
    if (fields && fields[0] !== 'Z' && groups.has(Number(fields[2]))) return true;
  }
  return false;
}

const CODEMOD = "sed -i 's/colour/color/g' README.md";
const TEST = 'sh test.sh';

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--${name} must be a positive whole number, got "${value}"`);
  return n;
}

/**
 * N copies of one small repo (a README to fix, a test, an environment naming the test). With
 * `workMiB`, the test also hashes that many MiB of zeros: CPU work standing in for a real
 * test suite, done the same way by the baseline and the fleet.
 */
async function makeRepos(dir: string, count: number, workMiB: number): Promise<void> {
  const work = workMiB > 0 ? `head -c ${workMiB}M /dev/zero | sha256sum >/dev/null\\n` : '';
  const script = `
set -e
mkdir -p template/.nightshift && cd template
git init --quiet --initial-branch=main
printf '# svc\\nThe colour of the service.\\n' > README.md
printf 'grep -q color README.md\\n! grep -q colour README.md\\n${work}' > test.sh
printf 'test: sh test.sh\\n' > .nightshift/environment.yml
git add -A && git -c user.name=bench -c user.email=bench@localhost commit --quiet -m init
cd ..
for i in $(seq 1 ${count}); do cp -r template nightshift-$i; cp -r template baseline-$i; cp -r template isolated-$i; done
rm -rf template`;
  await shell(script, { cwd: dir });
}

/** How often the fleet's status is read before `repos` runs have completed: a safety net only. */
const SETTLED_POLL_MS = 10_000;

/**
 * Resolves with the fleet's status once none of its `repos` runs is queued or running. The
 * status is read once `repos` runs have completed, and every second after that; before that
 * only every {@link SETTLED_POLL_MS} (reading it on every completion, or every second, would
 * load the engine it measures).
 */
async function settled(engine: Engine, name: string, repos: number): Promise<FleetStatus> {
  let completed = 0;
  let wake = () => {};
  const off = engine.store.on('completed', () => {
    completed += 1;
    if (completed >= repos) wake();
  });
  try {
    for (;;) {
      const enough = new Promise<void>((resolve) => {
        wake = resolve;
        if (completed >= repos) resolve();
      });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([enough, new Promise((resolve) => (timer = setTimeout(resolve, SETTLED_POLL_MS)))]);
      clearTimeout(timer);
      const status = await engine.fleets.status(name);
      if (status.counts.queued + status.counts.running === 0) return status;
      if (completed >= repos) await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } finally {
    off();
  }
}

/**
 * Writes the file system's dirty data out before a timed part starts, so that no part pays
 * for the writing back of what an earlier one (or the making of the repos) left in memory.
 */
async function flushWrites(): Promise<void> {
  await sh('sync');
}

/** Starts the V8 CPU profiler of this process; `stop` returns the profile (`.cpuprofile` JSON). */
async function startProfile(): Promise<{ stop(): Promise<object> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      return profile;
    },
  };
}

/** What one round measured: the two pipelines and the fleet, on repos of its own. */
interface RoundFigures {
  loadAverageAtStart: number;
  counts: FleetStatus['counts'];
  baselineMs: number;
  isolatedBaselineMs: number;
  nightshiftMs: number;
  ratio: number;
  perRepoOverheadMs: number;
  cpuMsPerRepo: { baseline: number; isolatedBaseline: number; nightshift: number; ratio: number } | null;
  engineCpuMsPerRepo: { user: number; system: number };
  /** The spawner helpers' CPU (they start every program of the fleet's runs), in the fleet's figure too. */
  helpersCpuMsPerRepo: number;
  /** The engine process's RSS when it opened and at its peak during the fleet. */
  engineRssMiB: { before: number; peak: number };
  slotMsPerRepo: Record<string, number>;
}

/**
 * The rounds' medians, figure by figure (each ratio the median of the rounds' ratios, not a
 * ratio of medians), and the counts of the last round; one round's figures as they are.
 */
function medianFigures(rounds: readonly RoundFigures[]): Omit<RoundFigures, 'counts'> & {
  counts: FleetStatus['counts'];
} {
  const of = (pick: (round: RoundFigures) => number) => median(rounds.map(pick));
  const cpu = rounds.every((r) => r.cpuMsPerRepo !== null);
  const parts = Object.keys(rounds[0]!.slotMsPerRepo);
  return {
    loadAverageAtStart: roundTo(of((r) => r.loadAverageAtStart)),
    counts: rounds.at(-1)!.counts,
    baselineMs: Math.round(of((r) => r.baselineMs)),
    isolatedBaselineMs: Math.round(of((r) => r.isolatedBaselineMs)),
    nightshiftMs: Math.round(of((r) => r.nightshiftMs)),
    ratio: roundTo2(of((r) => r.ratio)),
    perRepoOverheadMs: Math.round(of((r) => r.perRepoOverheadMs)),
    cpuMsPerRepo: cpu
      ? {
          baseline: roundTo(of((r) => r.cpuMsPerRepo!.baseline)),
          isolatedBaseline: roundTo(of((r) => r.cpuMsPerRepo!.isolatedBaseline)),
          nightshift: roundTo(of((r) => r.cpuMsPerRepo!.nightshift)),
          ratio: roundTo2(of((r) => r.cpuMsPerRepo!.ratio)),
        }
      : null,
    engineRssMiB: {
      before: roundTo(of((r) => r.engineRssMiB.before)),
      peak: roundTo(of((r) => r.engineRssMiB.peak)),
    },
    engineCpuMsPerRepo: {
      user: roundTo(of((r) => r.engineCpuMsPerRepo.user)),
      system: roundTo(of((r) => r.engineCpuMsPerRepo.system)),
    },
    helpersCpuMsPerRepo: roundTo(of((r) => r.helpersCpuMsPerRepo)),
    slotMsPerRepo: Object.fromEntries(
      parts.map((part) => [part, Math.round(of((r) => r.slotMsPerRepo[part]!))]),
    ),
  };
}

function roundTo2(value: number): number {
  return Math.round(value * 100) / 100;
}

type Figures = ReturnType<typeof medianFigures> & {
  repos: number;
  concurrency: number;
  workMiB: number;
  database: string;
  cpus: number;
  rounds: RoundFigures[];
};

/** The figures as text: a line per round when there are several, then their medians. */
function report(figures: Figures): string {
  const { repos, concurrency, workMiB, rounds } = figures;
  const several = rounds.length > 1;
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const perRound = rounds.map(
    (r, i) =>
      `  round ${i + 1} (load ${r.loadAverageAtStart}): baseline ${seconds(r.baselineMs)}, with bwrap ${seconds(r.isolatedBaselineMs)}, fleet ${seconds(r.nightshiftMs)} (${r.ratio}x)${r.cpuMsPerRepo ? `; CPU per repo ${r.cpuMsPerRepo.baseline} / ${r.cpuMsPerRepo.nightshift} ms (${r.cpuMsPerRepo.ratio}x)` : ''}; engine ${r.engineCpuMsPerRepo.user} + ${r.engineCpuMsPerRepo.system} ms, helpers ${r.helpersCpuMsPerRepo} ms per repo; RSS ${r.engineRssMiB.before} → ${r.engineRssMiB.peak} MiB`,
  );
  const cpu = figures.cpuMsPerRepo;
  return [
    `fleet of ${repos} repos, concurrency ${concurrency}${workMiB ? `, tests hashing ${workMiB} MiB` : ''}, ${figures.database} (${figures.cpus} CPUs, load ${figures.loadAverageAtStart} at start${several ? ', the median' : ''})`,
    ...(several ? [...perRound, `  medians of the ${rounds.length} rounds:`] : []),
    `  baseline (xargs -P ${concurrency} + git):  ${seconds(figures.baselineMs)}`,
    `  baseline + one bwrap per repo:   ${seconds(figures.isolatedBaselineMs)}   (${ratioOf(figures.isolatedBaselineMs, figures.baselineMs)}x the baseline: what kernel isolation alone costs)`,
    `  nightshift fleet apply:          ${seconds(figures.nightshiftMs)}   (${figures.ratio}x the baseline)`,
    `  per-repo overhead:               ${figures.perRepoOverheadMs} ms (sandbox, mirror, store, rollout)`,
    `  engine RSS:                      ${figures.engineRssMiB.before} MiB before, ${figures.engineRssMiB.peak} MiB peak`,
    cpu
      ? `  CPU per repo (all processes):    ${cpu.baseline} ms baseline, ${cpu.isolatedBaseline} ms with bwrap, ${cpu.nightshift} ms fleet (${cpu.ratio}x)`
      : '  CPU per repo:                    not measured (needs a writable cgroup v1 cpuacct, as root)',
    `  engine CPU per repo:             ${figures.engineCpuMsPerRepo.user} ms user, ${figures.engineCpuMsPerRepo.system} ms system`,
    `  spawner helpers' CPU per repo:   ${figures.helpersCpuMsPerRepo} ms (they start the runs' programs)`,
    `  outcome:                         ${JSON.stringify(figures.counts)}${several ? ' (the last round)' : ''}`,
    `  slot time per repo (concurrency × wall time / repos = ${Math.round((figures.nightshiftMs * concurrency) / repos)} ms):`,
    ...FLEET_PARTS.map(
      (part) => `    ${part.padEnd(20)} ${String(figures.slotMsPerRepo[part]).padStart(6)} ms`,
    ),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      repos: { type: 'string', default: '200' },
      concurrency: { type: 'string', default: '4' },
      work: { type: 'string', default: '0' },
      json: { type: 'boolean', default: false },
      profile: { type: 'string' },
      postgres: { type: 'boolean', default: false },
      rounds: { type: 'string', default: '1' },
    },
  });
  const repos = positive('repos', values.repos);
  const concurrency = positive('concurrency', values.concurrency);
  const workMiB = values.work === '0' ? 0 : positive('work', values.work);
  const rounds = positive('rounds', values.rounds);
  const root = await mkdtemp(join(tmpdir(), 'nightshift-bench-fleet-'));
  const meter = openCpuMeter();
  let postgres: PostgresServer | null = null;
  let engine: Engine | undefined;
  let sampler: NodeJS.Timeout | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanUp = () =>
    (cleaning ??= (async () => {
      await endScripts();
      clearInterval(sampler);
      await engine?.close();
      await postgres?.stop();
      meter?.close();
      await rm(root, { recursive: true, force: true, maxRetries: 5 });
    })());
  stopOnSignals(cleanUp);
  // Started after the meter: the server's processes count in the fleet's CPU.
  if (values.postgres) postgres = await startPostgres();
  try {
    const spans = new Spans();
    const databaseUrl = postgres ? await createDatabase(postgres.url) : undefined;
    /** The engine on the benchmark's home (the same in every round, its records kept). */
    const openEngine = async () => {
      const config = {
        ...engineConfig(join(root, 'home'), {}),
        databaseUrl,
        concurrency,
        perRepoConcurrency: 2,
        traceExecs: false,
      };
      const paths = homePaths(config.home);
      const opened = await Engine.open(config, {
        scm: timedScm(new LocalScmProvider({ mirrorsDir: paths.mirrors, basesDir: paths.bases }), spans),
        sandboxes: timedSandboxes(
          new LocalSandboxProvider({ hiddenPaths: [paths.home], traceExecs: false }),
          spans,
        ),
      });
      await opened.startWorker();
      return opened;
    };
    const measured: RoundFigures[] = [];
    for (let round = 1; round <= rounds; round++) {
      // Each round's repos are new, so neither side finds the work of an earlier round done.
      const dir = join(root, `round-${round}`);
      await mkdir(dir);
      await makeRepos(dir, repos, workMiB);
      const load = loadavg()[0]!;

      /** The baseline script over every `prefix-N` repo with `xargs -P`: wall and CPU milliseconds. */
      const pipeline = async (prefix: string, env: NodeJS.ProcessEnv = {}) => {
        await flushWrites();
        const cpuBefore = meter?.usedMs() ?? 0;
        const started = performance.now();
        const script = `ls -d ${dir}/${prefix}-* | xargs -P ${concurrency} -I{} ${join(import.meta.dirname, 'fleet.baseline.sh')} {} "${CODEMOD}" "${TEST}" bench/fleet`;
        await shell(script, { env: { ...process.env, ...env } });
        return { ms: performance.now() - started, cpuMs: (meter?.usedMs() ?? 0) - cpuBefore };
      };
      const baseline = await pipeline('baseline');
      const isolated = await pipeline('isolated', { BENCH_BWRAP: '1' });
      // Open only while its fleet runs, so the pipelines never share the machine with it.
      engine = await openEngine();
      const rssBefore = process.memoryUsage.rss();
      let peakRss = rssBefore;
      sampler = setInterval(() => {
        peakRss = Math.max(peakRss, process.memoryUsage.rss());
      }, 100);

      const name = rounds === 1 ? 'bench' : `bench-${round}`;
      const { spec, errors } = parseFleetSpec(
        `name: ${name}\ntargets:\n  - glob: "round-${round}/nightshift-*"\nscript: "${CODEMOD}"\nconcurrency: ${concurrency}\n`,
      );
      if (!spec) throw new Error(errors.map((e) => e.message).join('; '));
      await flushWrites();
      const profiler = values.profile && round === 1 ? await startProfile() : null;
      const cpuBefore = process.cpuUsage();
      const helpersBefore = helpersCpuMs();
      const fleetCpu = meter?.usedMs() ?? 0;
      const fleetStart = performance.now();
      spans.take();
      await engine.fleets.apply(spec, { cwd: root });
      const status = await settled(engine, name, repos);
      const fleetMs = performance.now() - fleetStart;
      const cpu = process.cpuUsage(cpuBefore);
      const helpersMs = helpersCpuMs() - helpersBefore;
      const fleetCpuMs = (meter?.usedMs() ?? 0) - fleetCpu;
      if (profiler && values.profile) await writeFile(values.profile, JSON.stringify(await profiler.stop()));
      const runIds: string[] = [];
      for await (const row of engine.fleets.queries.repos(name)) if (row.runId) runIds.push(row.runId);
      const breakdown = await fleetBreakdown(engine.store, runIds, spans.take(), fleetMs * concurrency);
      measured.push({
        loadAverageAtStart: roundTo(load),
        counts: status.counts,
        baselineMs: Math.round(baseline.ms),
        isolatedBaselineMs: Math.round(isolated.ms),
        nightshiftMs: Math.round(fleetMs),
        ratio: ratioOf(fleetMs, baseline.ms),
        perRepoOverheadMs: Math.round(((fleetMs - baseline.ms) * concurrency) / repos),
        cpuMsPerRepo: meter
          ? {
              baseline: roundTo(baseline.cpuMs / repos),
              isolatedBaseline: roundTo(isolated.cpuMs / repos),
              nightshift: roundTo(fleetCpuMs / repos),
              ratio: ratioOf(fleetCpuMs, baseline.cpuMs),
            }
          : null,
        engineCpuMsPerRepo: {
          user: roundTo(cpu.user / 1000 / repos),
          system: roundTo(cpu.system / 1000 / repos),
        },
        helpersCpuMsPerRepo: roundTo(helpersMs / repos),
        engineRssMiB: { before: roundTo(rssBefore / 2 ** 20), peak: roundTo(peakRss / 2 ** 20) },
        slotMsPerRepo: breakdown,
      });
      clearInterval(sampler);
      await engine.close();
      engine = undefined;
      await rm(dir, { recursive: true, force: true });
    }
    const figures = {
      repos,
      concurrency,
      workMiB,
      database: postgres ? 'PostgreSQL' : 'embedded database',
      cpus: cpus().length,
      ...medianFigures(measured),
      rounds: measured,
    };
    const counts = measured.map((r) => r.counts);
    if (values.json) {
      process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
    } else {
      process.stdout.write(report(figures));
    }
    if (counts.some((c) => c.succeeded !== repos)) process.exitCode = 1;
  } finally {
    await cleanUp();
  }
}

await main();
