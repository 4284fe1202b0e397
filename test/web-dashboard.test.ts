import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnCli, waitForOutput } from './support/cli.ts';
import { type ModelServer, type ScriptedTurn, startModelServer } from './support/model-server.ts';
import { makeRepo } from './support/repos.ts';

const SHOTS = fileURLToPath(new URL('../test-artifacts/screenshots/', import.meta.url));
const SIZES = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } } as const;
const WAIT = 60_000;

/** The link to a section in the dashboard's navigation bar. */
function section(page: Page, name: string) {
  return page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name, exact: true });
}

/** Saves the page at desktop and phone sizes as `<name>-<size>.png`, ending at desktop size. */
async function shoot(page: Page, name: string): Promise<void> {
  for (const size of ['phone', 'desktop'] as const) {
    await page.setViewportSize(SIZES[size]);
    await page.screenshot({ path: join(SHOTS, `${name}-${size}.png`), fullPage: true });
  }
}

describe('the web dashboard in headless Chromium', () => {
  const script: ScriptedTurn[] = [];
  let release: () => void = () => {};
  let dir: string;
  let repo: string;
  let models: ModelServer;
  let server: ChildProcess | undefined;
  let browser: Browser | undefined;
  let url: string;
  let token: string;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'nightshift-web-e2e-'));
    repo = join(dir, 'repo');
    await makeRepo(repo, { 'README.md': '# e2e\n' });
    const hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    script.push(
      { text: 'Waiting for instructions.', hold },
      { text: 'Follow-up handled, nothing to change.' },
    );
    models = await startModelServer({ script });
    const env = {
      NIGHTSHIFT_HOME: join(dir, 'home'),
      ANTHROPIC_API_KEY: 'sk-test-key',
      NIGHTSHIFT_ANTHROPIC_BASE_URL: models.url,
    };
    const created = await runCli(['token', 'create', '--name', 'e2e', '--scope', 'admin', '--json'], env);
    expect(created.stderr).toBe('');
    token = JSON.parse(created.stdout).token;
    server = spawnCli(['serve', '--port', '0', '--json'], env);
    // `--json` prints the whole object (pretty-printed); its `url` field is what we need.
    const [, listening] = await waitForOutput(server, /"url": "(http:\/\/127\.0\.0\.1:\d+)"/, 120_000);
    url = listening!;
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
      ],
    });
  }, 180_000);

  afterAll(async () => {
    release();
    await browser?.close();
    if (server?.pid && server.exitCode === null) {
      const exited = new Promise((resolve) => server?.once('exit', resolve));
      process.kill(server.pid, 'SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
      if (server.exitCode === null && server.signalCode === null) process.kill(server.pid, 'SIGKILL');
    }
    await models?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('signs in, runs a script and an agent, steers it, and shows audit, fleets and insights', {
    timeout: 240_000,
  }, async () => {
    const page = await browser!.newPage({ viewport: SIZES.desktop });
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
    await page.getByLabel('Script (shell)').fill('echo hello from the dashboard > hello.txt');
    await shoot(page, 'new-run');
    await page.getByRole('button', { name: 'Start run' }).click();
    await page.waitForURL(/\/runs\/run_\w+$/);
    const scriptRun = page.url();
    await page.locator('.title-row .badge', { hasText: 'success' }).waitFor({ timeout: 150_000 });
    expect(page.url()).toBe(scriptRun);
    await shoot(page, 'run-script');
    await page.getByRole('tab', { name: /Diff/ }).click();
    await page.getByText('hello from the dashboard').first().waitFor();
    await page.getByText('hello.txt').first().waitFor();
    await shoot(page, 'run-diff');

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
    release();
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
    await page.close();
  });
});
