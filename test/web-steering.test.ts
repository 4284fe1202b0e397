import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dashboard, markDocument, RUN_WAIT, shoot, startDashboard, WAIT } from './support/dashboard.ts';
import { gate } from './support/gate.ts';
import { type ModelServer, type ScriptedTurn, startModelServer } from './support/model-server.ts';
import { commitAll, gitIn, makeRepo, writeFiles } from './support/repos.ts';

interface RunView {
  id: string;
  status: string;
  conclusion: string | null;
  reason: string | null;
  branch: string | null;
  inputs: { script?: string };
}

/** Watching a run change live, and steering runs from the run page: stop, cancel, retry. */
describe('the dashboard steering runs in headless Chromium', () => {
  const live = gate();
  const stop = gate();
  const cancel = gate();
  // One cursor across every model call: the tests below use these turns in order.
  const script: ScriptedTurn[] = [
    {
      toolCalls: [
        { name: 'write_file', input: { path: 'live.txt', content: 'written while you watched\n' } },
      ],
      hold: live.promise,
    },
    { text: 'Wrote live.txt.' },
    { toolCalls: [{ name: 'write_file', input: { path: 'partial.txt', content: 'kept after stop\n' } }] },
    { text: 'Still working on the rest…', hold: stop.promise },
    { text: 'Never delivered: the run is cancelled first.', hold: cancel.promise },
  ];
  let models: ModelServer;
  let dash: Dashboard;
  let repo: string;

  beforeAll(async () => {
    models = await startModelServer({ script });
    dash = await startDashboard({
      ANTHROPIC_API_KEY: 'sk-test-key',
      NIGHTSHIFT_ANTHROPIC_BASE_URL: models.url,
    });
    repo = join(dash.dir, 'repo');
    await makeRepo(repo, { 'README.md': '# steering\n' });
  }, 180_000);

  afterAll(async () => {
    for (const held of [live, stop, cancel]) held.open();
    await dash?.close();
    await models?.close();
  }, 60_000);

  /** The badge of run `id` in the runs list. */
  const listBadge = (page: Awaited<ReturnType<Dashboard['open']>>, id: string) =>
    page.locator('ul.runs li', { hasText: id }).locator('.badge');
  const titleBadge = (page: Awaited<ReturnType<Dashboard['open']>>) => page.locator('.title-row .badge');

  it('shows a run going from running to success live, on the runs list and the run page', {
    timeout: 300_000,
  }, async () => {
    const runPage = await dash.open('/new');
    await runPage.getByLabel('Repository').fill(repo);
    await runPage.getByLabel('Prompt', { exact: true }).fill('Write live.txt while I watch');
    await runPage.getByRole('button', { name: 'Start run' }).click();
    await runPage.waitForURL(/\/runs\/run_\w+$/);
    const id = runPage.url().split('/').at(-1)!;
    const list = await dash.open('/runs');
    await expect.poll(() => models.requests.length, { timeout: RUN_WAIT }).toBe(1);
    const unchangedList = await markDocument(list);
    const unchangedRun = await markDocument(runPage);

    await expect.poll(() => listBadge(list, id).textContent(), { timeout: WAIT }).toBe('running');
    await expect.poll(() => titleBadge(runPage).textContent(), { timeout: WAIT }).toBe('running');
    await shoot(runPage, 'run-live-running');
    live.open();

    await expect.poll(() => listBadge(list, id).textContent(), { timeout: RUN_WAIT }).toBe('success');
    await expect.poll(() => titleBadge(runPage).textContent(), { timeout: RUN_WAIT }).toBe('success');
    expect(await unchangedList()).toBe(true);
    expect(await unchangedRun()).toBe(true);
    await runPage.getByText('Wrote live.txt.').waitFor();
    await runPage.getByRole('tab', { name: /Diff/ }).click();
    await runPage.getByText('written while you watched').first().waitFor();
    await shoot(runPage, 'run-live-done');
    await list.close();
    await runPage.close();
  });

  it('stops an agent mid-way: the run publishes what it did and says who stopped it', {
    timeout: 300_000,
  }, async () => {
    const run = await dash.api<RunView>('/api/runs', {
      method: 'POST',
      body: { repo, prompt: 'Write partial.txt, then keep going' },
    });
    const page = await dash.open(`/runs/${run.id}`);
    await expect.poll(() => models.requests.length, { timeout: RUN_WAIT }).toBe(4);

    await page.getByRole('button', { name: 'Stop agent' }).click();

    await expect.poll(() => titleBadge(page).textContent(), { timeout: RUN_WAIT }).toBe('success');
    await page.getByText('agent stopped by e2e').waitFor();
    // The harness's own report of the abort is not shown again as an error.
    expect(await page.locator('.transcript .error').count()).toBe(0);
    await expect(page.getByRole('button', { name: 'Stop agent' }).count()).resolves.toBe(0);
    const after = await dash.api<{ run: RunView }>(`/api/runs/${run.id}`);
    expect(after.run.conclusion).toBe('success');
    expect(await gitIn(repo, 'show', `${after.run.branch}:partial.txt`)).toBe('kept after stop');
    await shoot(page, 'run-stopped');
    await page.close();
  });

  it('cancels a running run: the page and the API say cancelled, and nothing is published', {
    timeout: 300_000,
  }, async () => {
    const run = await dash.api<RunView>('/api/runs', {
      method: 'POST',
      body: { repo, prompt: 'Think forever' },
    });
    const page = await dash.open(`/runs/${run.id}`);
    await expect.poll(() => models.requests.length, { timeout: RUN_WAIT }).toBe(5);
    await expect.poll(() => titleBadge(page).textContent(), { timeout: WAIT }).toBe('running');

    await page.getByRole('button', { name: 'Cancel run' }).click();

    await expect.poll(() => titleBadge(page).textContent(), { timeout: RUN_WAIT }).toBe('cancelled');
    const after = await dash.api<{ run: RunView; change: unknown }>(`/api/runs/${run.id}`);
    expect(after.run.conclusion).toBe('cancelled');
    expect(after.change).toBeNull();
    await expect(page.getByRole('button', { name: 'Cancel run' }).count()).resolves.toBe(0);
    await page.getByRole('button', { name: 'Retry' }).waitFor();
    await shoot(page, 'run-cancelled');
    await page.close();
  });

  it('retries a failed run as a new run with the same script, which sees the fixed repo', {
    timeout: 300_000,
  }, async () => {
    const check = 'test -f fixed.txt || { echo "fixed.txt is missing" >&2; exit 3; }';
    const failed = await dash.api<RunView>('/api/runs', { method: 'POST', body: { repo, script: check } });
    const page = await dash.open(`/runs/${failed.id}`);
    await expect.poll(() => titleBadge(page).textContent(), { timeout: RUN_WAIT }).toBe('failure');
    await page.locator('.reason').waitFor();
    await shoot(page, 'run-failed');
    await writeFiles(repo, { 'fixed.txt': 'yes\n' });
    await commitAll(repo, 'add fixed.txt');

    await page.getByRole('button', { name: 'Retry' }).click();

    await page.waitForURL(
      (url) => /\/runs\/run_\w+$/.test(url.pathname) && !url.pathname.endsWith(failed.id),
    );
    const retryId = page.url().split('/').at(-1)!;
    await expect
      .poll(() => titleBadge(page).textContent(), { timeout: RUN_WAIT })
      .toMatch(/success|no changes/);
    const retried = await dash.api<{ run: RunView }>(`/api/runs/${retryId}`);
    const original = await dash.api<{ run: RunView }>(`/api/runs/${failed.id}`);
    expect(retried.run.inputs.script).toBe(check);
    expect(retried.run.status).toBe('completed');
    expect(original.run.conclusion).toBe('failure');
    await shoot(page, 'run-retried');
    await page.close();
  });
});
