import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { RunEvent } from '../../src/core/events.ts';
import type { RunConclusion } from '../../src/core/run.ts';
import type { Engine } from '../../src/engine/index.ts';
import { GIT_ENV } from '../support/source.ts';
import type { RunTrace } from './breakdown.ts';
import type { Spans } from './timing.ts';

const execFileAsync = promisify(execFile);
const BASELINE_SCRIPT = fileURLToPath(new URL('../run-overhead.baseline.sh', import.meta.url));
const RUN_TIMEOUT_MS = 60_000;

/** One Nightshift run: its wall time (submit to completed) and what is needed to attribute it. */
export interface NightshiftSample {
  ms: number;
  trace: RunTrace;
  /** From the run's `workspace.ready` event. */
  workspace: { ms: number; cached: boolean };
}

/**
 * Submits a `script` run and waits for it to complete with `expected`; throws otherwise.
 * Provider spans recorded before the submit are dropped, so the trace holds this run's only.
 */
export async function runNightshift(
  engine: Engine,
  spans: Spans,
  repo: string,
  script: string,
  expected: RunConclusion,
): Promise<NightshiftSample> {
  spans.take();
  const start = Date.now();
  const t0 = performance.now();
  const run = await engine.submit({ repo, script });
  const submitted = Date.now();
  const events = await completion(engine, run.id);
  const ms = performance.now() - t0;
  const end = Date.now();
  const done = await engine.store.getRun(run.id);
  if (done.conclusion !== expected) {
    throw new Error(
      `run ${run.id} (${script}) concluded ${done.conclusion}, not ${expected}: ${done.reason}`,
    );
  }
  const ready = events.find((e) => e.type === 'workspace.ready');
  const workspace = ready
    ? (ready.data as { ms: number; cached: boolean })
    : { ms: Number.NaN, cached: false };
  return { ms, workspace, trace: { start, submitted, end, events, spans: spans.take() } };
}

/**
 * The run's events up to `run.completed`. Woken by the store's in-process notice of each event
 * write; the 25 ms cap bounds the wait when a notice comes between a read and the next wait
 * (waitForEvents would otherwise sleep its whole poll interval, 1 s on the embedded database).
 */
async function completion(engine: Engine, runId: string): Promise<RunEvent[]> {
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  const events: RunEvent[] = [];
  for (;;) {
    const more = await engine.store.waitForEvents(runId, events.at(-1)?.seq ?? 0, AbortSignal.timeout(25));
    events.push(...more);
    if (more.some((e) => e.type === 'run.completed')) return events;
    if (Date.now() > deadline) throw new Error(`run ${runId} did not complete in ${RUN_TIMEOUT_MS / 1000}s`);
  }
}

/** One run of the baseline script (reusing the clone at `reused` when given); returns its wall time in ms. */
export async function runBaseline(
  source: string,
  commit: string,
  command: string,
  branch: string,
  reused?: string,
): Promise<number> {
  const args = [BASELINE_SCRIPT, source, commit, command, branch, ...(reused ? [reused] : [])];
  const t0 = performance.now();
  await execFileAsync('bash', args, {
    env: GIT_ENV,
    timeout: RUN_TIMEOUT_MS,
  });
  return performance.now() - t0;
}
