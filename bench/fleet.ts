/**
 * A fleet of N generated local repos (default 200) with the `script` blueprint (a small codemod
 * plus each repo's test command), against a shell pipeline doing the same git work with
 * `xargs -P` at the same concurrency (fleet.baseline.sh), in one invocation; and the same
 * pipeline with the codemod and test in one bubblewrap sandbox per repo (what kernel isolation
 * alone costs). Prints the wall times, their ratio, the platform's per-repo overhead, the CPU
 * time per repo of each (all processes, from a cpuacct cgroup, as root), the engine process's
 * own CPU and peak memory, and where the fleet's slot time went.
 *
 *   node --import tsx bench/fleet.ts [--repos 200] [--concurrency 4] [--work MIB] [--postgres] [--json] [--profile FILE]
 *
 * `--work MIB` makes each repo's test hash MIB MiB of zeros as well (in the baseline too): a
 * test suite with real CPU work, to show the fixed per-repo overhead against it.
 *
 * `--postgres` keeps the engine's records in a private PostgreSQL server started by the
 * benchmark (its CPU counts in the fleet's) instead of the embedded database.
 *
 * `--profile FILE` writes a CPU profile of the engine process during the fleet alone (open it
 * in Chrome's DevTools): not its start-up, the baselines, or the clean-up.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { homePaths } from '../src/core/home.ts';
import { Engine, engineConfig } from '../src/engine/index.ts';
import { parseFleetSpec } from '../src/fleets/parse.ts';
import type { FleetStatus } from '../src/fleets/service.ts';
import { LocalSandboxProvider } from '../src/sandbox/local/index.ts';
import { LocalScmProvider } from '../src/scm/local/index.ts';
import { createDatabase, type PostgresServer, startPostgres } from '../test/support/postgres.ts';
import { FLEET_PARTS, fleetBreakdown } from './fleet/breakdown.ts';
import { Spans, timedSandboxes, timedScm } from './run-overhead/timing.ts';
import { openCpuMeter } from './support/cpu.ts';
import { round } from './support/stats.ts';

const sh = promisify(execFile);
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
  await sh('sh', ['-c', script], { cwd: dir });
}

/**
 * Resolves with the fleet's status once none of its `repos` runs is queued or running. The
 * status is read once `repos` runs have completed, and every second after that (reading it on
 * every completion would load the engine it measures).
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
      await Promise.race([enough, new Promise((resolve) => setTimeout(resolve, 1000))]);
      const status = await engine.fleets.status(name);
      if (status.counts.queued + status.counts.running === 0) return status;
    }
  } finally {
    off();
  }
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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      repos: { type: 'string', default: '200' },
      concurrency: { type: 'string', default: '4' },
      work: { type: 'string', default: '0' },
      json: { type: 'boolean', default: false },
      profile: { type: 'string' },
      postgres: { type: 'boolean', default: false },
    },
  });
  const repos = positive('repos', values.repos);
  const concurrency = positive('concurrency', values.concurrency);
  const workMiB = values.work === '0' ? 0 : positive('work', values.work);
  const root = await mkdtemp(join(tmpdir(), 'nightshift-bench-fleet-'));
  const meter = openCpuMeter();
  // Started after the meter: the server's processes count in the fleet's CPU.
  const postgres: PostgresServer | null = values.postgres ? await startPostgres() : null;
  let engine: Engine | undefined;
  try {
    await makeRepos(root, repos, workMiB);
    const load = loadavg()[0]!;

    /** The baseline script over every `prefix-N` repo with `xargs -P`: wall and CPU milliseconds. */
    const pipeline = async (prefix: string, env: NodeJS.ProcessEnv = {}) => {
      const cpuBefore = meter?.usedMs() ?? 0;
      const started = performance.now();
      const script = `ls -d ${root}/${prefix}-* | xargs -P ${concurrency} -I{} ${join(import.meta.dirname, 'fleet.baseline.sh')} {} "${CODEMOD}" "${TEST}" bench/fleet`;
      await sh('sh', ['-c', script], { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...env } });
      return { ms: performance.now() - started, cpuMs: (meter?.usedMs() ?? 0) - cpuBefore };
    };
    const { ms: baselineMs, cpuMs: baselineCpuMs } = await pipeline('baseline');
    const isolated = await pipeline('isolated', { BENCH_BWRAP: '1' });

    const config = {
      ...engineConfig(join(root, 'home'), {}),
      databaseUrl: postgres ? await createDatabase(postgres.url) : undefined,
      concurrency,
      perRepoConcurrency: 2,
      traceExecs: false,
    };
    const paths = homePaths(config.home);
    const spans = new Spans();
    engine = await Engine.open(config, {
      scm: timedScm(new LocalScmProvider({ mirrorsDir: paths.mirrors, basesDir: paths.bases }), spans),
      sandboxes: timedSandboxes(
        new LocalSandboxProvider({ hiddenPaths: [paths.home], traceExecs: false }),
        spans,
      ),
    });
    await engine.startWorker();
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 100);
    const { spec, errors } = parseFleetSpec(
      `name: bench\ntargets:\n  - glob: "nightshift-*"\nscript: "${CODEMOD}"\nconcurrency: ${concurrency}\n`,
    );
    if (!spec) throw new Error(errors.map((e) => e.message).join('; '));
    const profiler = values.profile ? await startProfile() : null;
    const cpuBefore = process.cpuUsage();
    const fleetCpu = meter?.usedMs() ?? 0;
    const fleetStart = performance.now();
    spans.take();
    await engine.fleets.apply(spec, { cwd: root });
    const status = await settled(engine, 'bench', repos);
    const fleetMs = performance.now() - fleetStart;
    const cpu = process.cpuUsage(cpuBefore);
    const fleetCpuMs = (meter?.usedMs() ?? 0) - fleetCpu;
    if (profiler && values.profile) await writeFile(values.profile, JSON.stringify(await profiler.stop()));
    clearInterval(sampler);
    const runIds: string[] = [];
    for await (const row of engine.fleets.queries.repos('bench')) if (row.runId) runIds.push(row.runId);
    const breakdown = await fleetBreakdown(engine.store, runIds, spans.take(), fleetMs * concurrency);
    const figures = {
      repos,
      concurrency,
      workMiB,
      database: postgres ? 'PostgreSQL' : 'embedded database',
      cpus: cpus().length,
      loadAverageAtStart: round(load),
      counts: status.counts,
      baselineMs: Math.round(baselineMs),
      isolatedBaselineMs: Math.round(isolated.ms),
      nightshiftMs: Math.round(fleetMs),
      ratio: Math.round((fleetMs / baselineMs) * 100) / 100,
      perRepoOverheadMs: Math.round(((fleetMs - baselineMs) * concurrency) / repos),
      engineRssMiB: { before: round(rssBefore / 2 ** 20), peak: round(peakRss / 2 ** 20) },
      cpuMsPerRepo: meter
        ? {
            baseline: round(baselineCpuMs / repos),
            isolatedBaseline: round(isolated.cpuMs / repos),
            nightshift: round(fleetCpuMs / repos),
            ratio: Math.round((fleetCpuMs / baselineCpuMs) * 100) / 100,
          }
        : null,
      engineCpuMsPerRepo: { user: round(cpu.user / 1000 / repos), system: round(cpu.system / 1000 / repos) },
      slotMsPerRepo: breakdown,
    };
    if (values.json) {
      process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
    } else {
      process.stdout.write(
        [
          `fleet of ${repos} repos, concurrency ${concurrency}${workMiB ? `, tests hashing ${workMiB} MiB` : ''}, ${figures.database} (${figures.cpus} CPUs, load ${figures.loadAverageAtStart} at start)`,
          `  baseline (xargs -P ${concurrency} + git):  ${(baselineMs / 1000).toFixed(1)} s`,
          `  baseline + one bwrap per repo:   ${(isolated.ms / 1000).toFixed(1)} s   (${Math.round((isolated.ms / baselineMs) * 100) / 100}x the baseline: what kernel isolation alone costs)`,
          `  nightshift fleet apply:          ${(fleetMs / 1000).toFixed(1)} s   (${figures.ratio}x the baseline)`,
          `  per-repo overhead:               ${figures.perRepoOverheadMs} ms (sandbox, mirror, store, rollout)`,
          `  engine RSS:                      ${figures.engineRssMiB.before} MiB before, ${figures.engineRssMiB.peak} MiB peak`,
          figures.cpuMsPerRepo
            ? `  CPU per repo (all processes):    ${figures.cpuMsPerRepo.baseline} ms baseline, ${figures.cpuMsPerRepo.isolatedBaseline} ms with bwrap, ${figures.cpuMsPerRepo.nightshift} ms fleet (${figures.cpuMsPerRepo.ratio}x)`
            : '  CPU per repo:                    not measured (needs a writable cgroup v1 cpuacct, as root)',
          `  engine CPU per repo:             ${figures.engineCpuMsPerRepo.user} ms user, ${figures.engineCpuMsPerRepo.system} ms system`,
          `  outcome:                         ${JSON.stringify(status.counts)}`,
          `  slot time per repo (concurrency × wall time / repos = ${Math.round((fleetMs * concurrency) / repos)} ms):`,
          ...FLEET_PARTS.map((part) => `    ${part.padEnd(20)} ${String(breakdown[part]).padStart(6)} ms`),
          '',
        ].join('\n'),
      );
    }
    if (status.counts.succeeded !== repos) process.exitCode = 1;
  } finally {
    await engine?.close();
    await postgres?.stop();
    meter?.close();
    await rm(root, { recursive: true, force: true });
  }
}

await main();
