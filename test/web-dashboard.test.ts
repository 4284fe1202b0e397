import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Dashboard,
  markDocument,
  overlappingChartLabels,
  RUN_WAIT,
  SIZES,
  section,
  shoot,
  startDashboard,
  WAIT,
} from './support/dashboard.ts';
import { gate } from './support/gate.ts';
import { type ModelServer, type ScriptedTurn, startModelServer } from './support/model-server.ts';
import { makeRepo } from './support/repos.ts';

/** What has the keyboard focus: its role or tag, its name, and whether a focus ring shows. */
async function focused(page: Page): Promise<{ name: string; ring: boolean }> {
  // Browser code is a string: the tests' TypeScript has no DOM types.
  return (await page.evaluate(`(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return { name: '(body)', ring: false };
    const style = getComputedStyle(el);
    const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none';
    const label = el.labels && el.labels[0] ? el.labels[0].textContent : null;
    const name = (el.getAttribute('aria-label') || label || el.textContent || el.tagName).trim();
    return { name: ((el.getAttribute('role') || el.tagName.toLowerCase()) + ' ' + name).slice(0, 40), ring };
  })()`)) as { name: string; ring: boolean };
}

describe('the web dashboard in headless Chromium', () => {
  const held = gate();
  const script: ScriptedTurn[] = [
    { text: 'Waiting for instructions.', hold: held.promise },
    { text: 'Follow-up handled, nothing to change.' },
  ];
  let models: ModelServer;
  let dash: Dashboard;
  let repo: string;
  let url: string;
  let token: string;

  beforeAll(async () => {
    models = await startModelServer({ script });
    dash = await startDashboard({
      ANTHROPIC_API_KEY: 'sk-test-key',
      NIGHTSHIFT_ANTHROPIC_BASE_URL: models.url,
    });
    ({ url, token } = dash);
    repo = join(dash.dir, 'repo');
    await makeRepo(repo, { 'README.md': '# e2e\n' });
  }, 180_000);

  afterAll(async () => {
    held.open();
    await dash?.close();
    await models?.close();
  }, 60_000);

  it('signs in, runs a script and an agent, steers it, and shows audit, fleets and insights', {
    timeout: 240_000,
  }, async () => {
    const page = await dash.browser.newPage({ viewport: SIZES.desktop });
    page.setDefaultTimeout(WAIT);
    await page.goto(`${url}/runs`);

    await page.getByLabel('API token').fill('nst_forged_token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent(), { timeout: WAIT })
      .toContain('token is wrong');
    await shoot(page, 'sign-in');
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
    await shoot(page, 'runs-empty');

    await section(page, 'New run').click();
    await page.getByLabel('Repository').fill(repo);
    await page.getByLabel('Script', { exact: true }).check();
    // Long enough to be seen running from the run page the form opens.
    await page.getByLabel('Script (shell)').fill('sleep 8; echo hello from the dashboard > hello.txt');
    await shoot(page, 'new-run');
    await page.getByRole('button', { name: 'Start run' }).click();
    await page.waitForURL(/\/runs\/run_\w+$/);
    const scriptRun = page.url();
    const unchanged = await markDocument(page);
    await page.locator('.title-row .badge', { hasText: 'running' }).waitFor({ timeout: WAIT });
    // A script run has no agent to steer: it can be cancelled, not sent a follow-up or stopped.
    await page.getByRole('button', { name: 'Cancel run' }).waitFor();
    expect(await page.getByLabel('Follow-up').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Stop agent' }).count()).toBe(0);
    await page.locator('.title-row .badge', { hasText: 'success' }).waitFor({ timeout: 150_000 });
    expect(page.url()).toBe(scriptRun);
    expect(await unchanged()).toBe(true);
    await shoot(page, 'run-script');
    await page.getByRole('tab', { name: /Diff/ }).click();
    await page.getByText('hello from the dashboard').first().waitFor();
    await page.getByText('hello.txt').first().waitFor();
    await shoot(page, 'run-diff');
    const scriptRunId = scriptRun.split('/').at(-1)!;
    await page.getByRole('link', { name: 'Entries of this run' }).click();
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    expect(new URL(page.url()).searchParams.get('run')).toBe(scriptRunId);
    expect(await page.getByLabel('Run', { exact: true }).inputValue()).toBe(scriptRunId);
    const runEntries = page.locator('table.audit tbody tr');
    await page.locator('table.audit tbody tr', { hasText: 'publish' }).waitFor();
    const runLinks = await runEntries.locator('td:nth-child(5)').allTextContents();
    expect(runLinks.length).toBeGreaterThan(2);
    expect(new Set(runLinks)).toEqual(new Set([scriptRunId.slice(-8)]));

    await section(page, 'New run').click();
    await page.getByLabel('Repository').fill(repo);
    await page.getByLabel('Prompt', { exact: true }).fill('Wait for my instructions');
    await page.getByRole('button', { name: 'Start run' }).click();
    await page.waitForURL(/\/runs\/run_\w+$/);
    await expect.poll(() => models.requests.length, { timeout: 150_000 }).toBeGreaterThan(0);
    await page.getByLabel('Follow-up').fill('Please also check the README');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByText('Follow-up queued').waitFor();
    await page.locator('.msg.person', { hasText: 'Please also check the README' }).first().waitFor();
    await shoot(page, 'run-agent');
    held.open();
    await page.locator('.msg.person', { hasText: 'delivered' }).waitFor({ timeout: 150_000 });
    await page.getByText('Follow-up handled, nothing to change.').waitFor({ timeout: 150_000 });
    await page.locator('.title-row .badge', { hasText: 'no changes' }).waitFor({ timeout: 150_000 });
    await shoot(page, 'run-agent-done');

    await section(page, 'Runs').click();
    await page.locator('a', { hasText: 'Wait for my instructions' }).first().waitFor();
    await shoot(page, 'runs');

    await section(page, 'Audit').click();
    await page.getByText(/Hash chain verified: \d+ entries intact/).waitFor();
    await page.locator('tbody tr', { hasText: 'publish' }).first().waitFor();
    await shoot(page, 'audit');
    const auditRows = page.locator('table.audit tbody tr');
    await page.getByLabel('Kind').selectOption('publish');
    await expect.poll(() => auditRows.count(), { timeout: WAIT }).toBe(1);
    const searched: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/api/audit?')) searched.push(request.url());
    });
    await page.getByLabel('Text').fill('no-such-entry-anywhere');
    await page.getByText('No audit entries match these filters.').waitFor();
    // Searched by the server (the dashboard no longer downloads the whole export).
    expect(
      searched.some((u) => u.includes('kind=publish') && u.includes('text=no-such-entry-anywhere')),
    ).toBe(true);
    await shoot(page, 'audit-no-match');
    await page.getByLabel('Text').fill('');
    await page.getByLabel('Kind').selectOption('');
    await expect.poll(() => auditRows.count(), { timeout: WAIT }).toBeGreaterThan(1);
    // Over a page of entries (one per program the script runs): the rest come with Load older.
    const busy = await dash.api<{ id: string }>('/api/runs', {
      method: 'POST',
      body: { repo, script: 'for i in $(seq 120); do /bin/true; done' },
    });
    await expect
      .poll(async () => (await dash.api<{ run: { status: string } }>(`/api/runs/${busy.id}`)).run.status, {
        timeout: RUN_WAIT,
      })
      .toBe('completed');
    await expect.poll(() => auditRows.count(), { timeout: WAIT }).toBe(100);
    await page.getByRole('button', { name: 'Load older entries' }).click();
    // The button reads "Loading older entries…" while the page loads, then goes away.
    await page.getByRole('button', { name: /older entries/ }).waitFor({ state: 'detached' });
    const seqs = (await auditRows.locator('td:first-child').allTextContents()).map(Number);
    expect(seqs.length).toBeGreaterThan(120);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs.length - i));

    await section(page, 'Fleets').click();
    await page.getByRole('heading', { name: 'Fleets' }).waitFor();
    await shoot(page, 'fleets');

    await section(page, 'Automations').click();
    await page.getByRole('heading', { name: 'Automations' }).waitFor();
    await shoot(page, 'automations');

    await section(page, 'Insights').click();
    await page.getByRole('heading', { name: 'Insights' }).waitFor();
    await page.locator('svg').first().waitFor();
    await shoot(page, 'insights');
    for (const days of ['7', '14', '30', '90']) {
      await page.getByLabel('Period').selectOption(days);
      await page.setViewportSize(SIZES.phone);
      // One column (a `g`) per day once the new period's figures are in.
      await expect.poll(() => page.locator('.chart svg').first().locator('g').count()).toBe(Number(days));
      expect(await overlappingChartLabels(page)).toEqual([]);
    }
    await page.close();
  });

  it('can be used by keyboard alone, with a visible focus ring on every stop', async () => {
    const page = await dash.open('/runs');
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
    await page.locator('ul.runs li').first().waitFor();
    const stops: { name: string; ring: boolean }[] = [];

    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      stops.push(await focused(page));
    }

    const expected = [
      'Skip to content',
      'Nightshift',
      'Runs',
      'New run',
      'Fleets',
      'Swarms',
      'Automations',
      'Audit',
      'Insights',
      'Sign out',
      'New run',
      'Status',
    ];
    expect(stops.map((s, i) => (s.name.includes(expected[i]!) ? expected[i] : s.name))).toEqual(expected);
    expect(stops.filter((s) => !s.ring)).toEqual([]);

    await page.locator('ul.runs li a').first().focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/runs\/run_\w+$/);
    await page.getByRole('tab', { name: 'Transcript' }).focus();
    await page.keyboard.press('ArrowRight');
    expect(await focused(page)).toEqual({ name: expect.stringContaining('tab Steps'), ring: true });
    await expect
      .poll(() => page.getByRole('tab', { name: 'Steps' }).getAttribute('aria-selected'))
      .toBe('true');
    await page.keyboard.press('End');
    await expect
      .poll(() => page.getByRole('tab', { name: /Diff/ }).getAttribute('aria-selected'))
      .toBe('true');
    await shoot(page, 'run-keyboard');

    await section(page, 'Audit').focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    await expect.poll(async () => (await focused(page)).name).toMatch(/^main /);
    await page.keyboard.press('Tab');
    expect(await focused(page)).toEqual({ name: 'input Run', ring: true });
    await page.close();
  });

  it('says what went wrong when the server cannot be reached or has no such run', async () => {
    const page = await dash.open('/runs/run_doesnotexist');

    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toMatch(/run_doesnotexist/);
    await shoot(page, 'run-not-found');
    await page.route('**/api/runs?**', (route) => route.abort());
    await section(page, 'Runs').click();
    await expect
      .poll(() => page.getByRole('alert').textContent(), { timeout: WAIT })
      .toContain('cannot reach the Nightshift server');
    await shoot(page, 'runs-unreachable');
    await page.unroute('**/api/runs?**');

    await section(page, 'Fleets').click();
    await page.getByText('No fleets yet').waitFor();
    await section(page, 'Swarms').click();
    await page.getByText('No swarms yet').waitFor();
    await page.goto(`${url}/fleets/no-such-fleet`);
    await expect
      .poll(() => page.getByRole('alert').textContent(), { timeout: WAIT })
      .toContain('no-such-fleet');
    await shoot(page, 'fleet-not-found');
    await page.close();
  });

  it('shows that a page is loading while its data is on the way', async () => {
    const page = await dash.open('/runs');
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
    const slow = gate();
    await page.route('**/api/insights?**', async (route) => {
      await slow.promise;
      await route.continue();
    });

    await section(page, 'Insights').click();

    await page.getByRole('status').filter({ hasText: 'Loading insights…' }).waitFor();
    await shoot(page, 'insights-loading');
    slow.open();
    await page.getByText('merged-change rate').waitFor();
    await expect(page.getByText('Loading insights…').count()).resolves.toBe(0);
    await page.close();
  });
});
