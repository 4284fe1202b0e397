import { join } from 'node:path';
import { expect } from 'vitest';
import type { EngineConfig } from '../../src/engine/index.ts';
import { parseFleetSpec } from '../../src/fleets/parse.ts';
import type { FleetSpec } from '../../src/fleets/schema.ts';
import type { FleetRepoRow } from '../../src/fleets/store.ts';
import { makeRepo } from './repos.ts';
import { scriptedEngine } from './scripted-engine.ts';

/**
 * An engine for fleet tests (the embedded database, a running worker, no exec tracing), with
 * helpers to make target repos, parse specs, wait for a fleet and read its repo table.
 */
export function fleetEngine(name: string, overrides: Partial<EngineConfig> = {}) {
  const { state } = scriptedEngine('pglite', name, { traceExecs: false, ...overrides });
  let fleets = 0;

  /** `count` repos under a new directory, each with a README and `files(i)`. */
  async function newRepos(count: number, files: (i: number) => Record<string, string> = () => ({})) {
    const dir = join(state.dir, `fleet${fleets++}`);
    for (let i = 0; i < count; i++) {
      await makeRepo(join(dir, `svc-${i}`), { 'README.md': `# svc-${i}\n`, ...files(i) });
    }
    return dir;
  }

  function spec(yaml: string): FleetSpec {
    const { spec, errors } = parseFleetSpec(yaml);
    expect(errors).toEqual([]);
    return spec!;
  }

  /**
   * Waits until no repo of the fleet is queued or running (or the fleet is no longer active,
   * holding its queued runs), then takes one more rollout step.
   */
  async function settled(fleet: string, timeoutMs = 180_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await state.engine.fleets.status(fleet);
      const { queued, running } = status.counts;
      if (running === 0 && (queued === 0 || status.fleet.state !== 'active')) {
        await state.engine.fleets.tick(fleet);
        return state.engine.fleets.status(fleet);
      }
      if (Date.now() > deadline)
        throw new Error(`fleet ${fleet} did not settle: ${JSON.stringify(status.counts)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function table(fleet: string): Promise<FleetRepoRow[]> {
    const rows: FleetRepoRow[] = [];
    for await (const row of state.engine.fleets.queries.repos(fleet)) rows.push(row);
    return rows;
  }

  return { state, newRepos, spec, settled, table };
}
