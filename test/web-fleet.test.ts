import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyFleetBeforeServe,
  type Dashboard,
  RUN_WAIT,
  shoot,
  startDashboard,
  WAIT,
} from './support/dashboard.ts';
import { commitAll, makeRepo, writeFiles } from './support/repos.ts';

const FLEET = 'e2e-fleet';
const READY = ['alpha', 'beta'];
const NOT_READY = ['gamma', 'delta'];

const SPEC = `name: ${FLEET}
targets:
  - glob: repos/*
blueprint: script
script: |
  test -f ready.txt || { echo "ready.txt is missing" >&2; exit 1; }
  echo converged > fleet.txt
concurrency: 2
`;

interface FleetStatusView {
  fleet: { state: string };
  counts: Record<string, number>;
  failures: { reason: string; count: number; repos: string[] }[];
}

/** The number shown beside a state in the fleet's counts. */
function count(page: Page, state: string) {
  return page
    .locator('ul.counts li', { hasText: state.replace('_', ' ') })
    .locator('strong')
    .textContent();
}

describe('the dashboard watching a real fleet in headless Chromium', () => {
  let dash: Dashboard;

  beforeAll(async () => {
    dash = await startDashboard({}, async (env, dir) => {
      for (const name of [...READY, ...NOT_READY]) {
        const ready: Record<string, string> = READY.includes(name) ? { 'ready.txt': 'yes\n' } : {};
        await makeRepo(join(dir, 'repos', name), { 'README.md': `# ${name}\n`, ...ready });
      }
      await applyFleetBeforeServe(env, dir, SPEC);
    });
  }, 240_000);

  afterAll(async () => {
    await dash?.close();
  }, 60_000);

  it('shows counts, burn-down, failures by message and filtered repos; pauses, resumes and retries', {
    timeout: 400_000,
  }, async () => {
    const page = await dash.open('/fleets');
    // The list shows each fleet's progress as last recorded.
    await expect
      .poll(() => page.getByRole('link', { name: new RegExp(FLEET) }).textContent(), { timeout: WAIT })
      .toMatch(/\d\/4 repos done/);
    await page.getByRole('link', { name: new RegExp(FLEET) }).click();
    await page.getByRole('heading', { name: FLEET }).waitFor();
    await expect.poll(() => count(page, 'succeeded'), { timeout: RUN_WAIT * 2 }).toBe('2');
    await expect.poll(() => count(page, 'failed'), { timeout: RUN_WAIT }).toBe('2');

    const failures = page.locator('ul.failures li');
    await expect.poll(() => failures.count(), { timeout: WAIT }).toBe(1);
    const failure = (await failures.textContent()) ?? '';
    expect(failure).toContain('2×');
    for (const name of NOT_READY) expect(failure).toContain(name);
    await page.getByRole('img', { name: 'Repos remaining over time' }).waitFor();
    // The burn-down catches up with the counts: its line ends at 0 remaining (the chart's bottom, y 160).
    const lastPoint = async () =>
      (await page.locator('figure.chart path').getAttribute('d'))?.split(' ').at(-1)?.split(',')[1];
    await expect.poll(lastPoint, { timeout: WAIT }).toBe('160.0');
    await page.getByRole('button', { name: 'Retry failed (2)' }).waitFor();
    await shoot(page, 'fleet');

    const rows = page.locator('table.data tbody tr');
    await page.getByLabel('State').selectOption('failed');
    const shown = async () =>
      (await rows.locator('td:first-child').allTextContents()).map((t) => t.split('/').at(-1)).sort();
    await expect.poll(shown, { timeout: WAIT }).toEqual(['delta', 'gamma']);
    await page.getByLabel('State').selectOption('succeeded');
    await expect.poll(shown, { timeout: WAIT }).toEqual(['alpha', 'beta']);
    await page.getByLabel('State').selectOption('');
    await page.getByLabel('Repo', { exact: true }).fill('alp');
    await expect.poll(shown, { timeout: WAIT }).toEqual(['alpha']);
    await page.getByLabel('Repo', { exact: true }).fill('');
    await expect.poll(shown, { timeout: WAIT }).toEqual(['alpha', 'beta', 'delta', 'gamma']);

    await page.getByRole('button', { name: 'Pause' }).click();
    await expect
      .poll(() => page.locator('.title-row .badge').textContent(), { timeout: WAIT })
      .toBe('paused');
    expect((await dash.api<FleetStatusView>(`/api/fleets/${FLEET}`)).fleet.state).toBe('paused');
    await shoot(page, 'fleet-paused');
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect
      .poll(() => page.locator('.title-row .badge').textContent(), { timeout: WAIT })
      .toBe('active');
    expect((await dash.api<FleetStatusView>(`/api/fleets/${FLEET}`)).fleet.state).toBe('active');

    for (const name of NOT_READY) {
      const repo = join(dash.dir, 'repos', name);
      await writeFiles(repo, { 'ready.txt': 'now\n' });
      await commitAll(repo, 'ready now');
    }
    await page.getByRole('button', { name: 'Retry failed (2)' }).click();

    await expect.poll(() => count(page, 'succeeded'), { timeout: RUN_WAIT * 2 }).toBe('4');
    await expect.poll(() => count(page, 'failed'), { timeout: WAIT }).toBe('0');
    await page.getByText('No failures.').waitFor();
    const status = await dash.api<FleetStatusView>(`/api/fleets/${FLEET}`);
    expect(status.counts).toMatchObject({ succeeded: 4, failed: 0 });
    expect(status.failures).toEqual([]);
    await shoot(page, 'fleet-retried');

    await page.goto(`${dash.url}/runs?fleet=${FLEET}`);
    await expect.poll(() => page.locator('ul.runs li').count(), { timeout: WAIT }).toBe(6);
    await page.close();
  });

  it('cancels a fleet: its running and queued runs are cancelled', { timeout: 300_000 }, async () => {
    const text = 'name: slow\ntargets:\n  - glob: repos/*\nscript: "sleep 120"\nconcurrency: 1\n';
    await dash.api('/api/fleets/apply', { method: 'POST', body: { text, file: 'slow.yaml', cwd: dash.dir } });
    const page = await dash.open('/fleets/slow');
    await expect.poll(() => count(page, 'running'), { timeout: RUN_WAIT }).toBe('1');

    await page.getByRole('button', { name: 'Cancel fleet' }).click();

    await expect
      .poll(() => page.locator('.title-row .badge').textContent(), { timeout: WAIT })
      .toBe('cancelled');
    await expect.poll(() => count(page, 'cancelled'), { timeout: RUN_WAIT }).toBe('4');
    expect(await page.getByRole('button', { name: 'Cancel fleet' }).count()).toBe(0);
    const status = await dash.api<FleetStatusView>('/api/fleets/slow');
    expect(status.fleet.state).toBe('cancelled');
    expect(status.counts).toMatchObject({ cancelled: 4, running: 0, queued: 0 });
    await shoot(page, 'fleet-cancelled');
    await page.close();
  });
});
