import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { runCli, spawnCli, waitForOutput } from './cli.ts';

export const SHOTS = fileURLToPath(new URL('../../test-artifacts/screenshots/', import.meta.url));
export const SIZES = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } } as const;
/** How long a page waits for what a person would wait for (a loaded, shared 2-core machine). */
export const WAIT = 60_000;
/** How long a run may take to reach a state (sandboxes start slowly on a loaded machine). */
export const RUN_WAIT = 150_000;

/** A temp home, an admin token, `nightshift serve` and headless Chromium; `close` stops them all. */
export interface Dashboard {
  dir: string;
  url: string;
  token: string;
  env: Record<string, string>;
  browser: Browser;
  /** A page of the dashboard, signed in, at `path`. */
  open(path: string): Promise<Page>;
  /** The API with the admin token. */
  api<T>(path: string, init?: { method?: string; body?: unknown }): Promise<T>;
  close(): Promise<void>;
}

/**
 * Writes `spec` as `fleet.yaml` in `dir` and applies it without waiting for it: for a
 * `startDashboard` `before`, as the embedded database has one owner and `serve` takes it over.
 */
export async function applyFleetBeforeServe(
  env: Record<string, string>,
  dir: string,
  spec: string,
): Promise<void> {
  writeFileSync(join(dir, 'fleet.yaml'), spec);
  const applied = await runCli(['fleet', 'apply', join(dir, 'fleet.yaml'), '--detach', '--json'], env);
  if (applied.code !== 0) throw new Error(`fleet apply failed: ${applied.stderr}`);
}

/**
 * Starts a dashboard on a fresh home. `before` runs after the token is made and before the
 * server starts (the embedded database has one owner: CLI commands that need the engine, such
 * as `fleet apply`, run there). `serveArgs` are added to `nightshift serve` (`--no-workers`).
 */
export async function startDashboard(
  extraEnv: Record<string, string> = {},
  before?: (env: Record<string, string>, dir: string) => Promise<void>,
  serveArgs: string[] = [],
): Promise<Dashboard> {
  mkdirSync(SHOTS, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'nightshift-web-e2e-'));
  const env = { NIGHTSHIFT_HOME: join(dir, 'home'), ...extraEnv };
  let server: ChildProcess | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    if (server?.pid && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolve) => server?.once('exit', resolve));
      process.kill(server.pid, 'SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
      if (server.exitCode === null && server.signalCode === null) process.kill(server.pid, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const created = await runCli(['token', 'create', '--name', 'e2e', '--scope', 'admin', '--json'], env);
    if (created.code !== 0) throw new Error(`token create failed: ${created.stderr}`);
    const token = JSON.parse(created.stdout).token as string;
    await before?.(env, dir);
    server = spawnCli(['serve', '--port', '0', '--json', ...serveArgs], env);
    // `--json` prints the whole object (pretty-printed); its `url` field is what we need.
    const [, url] = await waitForOutput(server, /"url": "(http:\/\/127\.0\.0\.1:\d+)"/, 120_000);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
    const opened = browser;
    return {
      dir,
      url: url!,
      token,
      env,
      browser: opened,
      async open(path) {
        const page = await opened.newPage({ viewport: SIZES.desktop });
        page.setDefaultTimeout(WAIT);
        // Signed in as the dashboard keeps it: the token in the tab's sessionStorage.
        await page.addInitScript(`sessionStorage.setItem('nightshift.token', ${JSON.stringify(token)})`);
        await page.goto(`${url}${path}`);
        return page;
      },
      async api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
        const res = await fetch(`${url}${path}`, {
          method: init.method ?? 'GET',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: init.body === undefined ? undefined : JSON.stringify(init.body),
        });
        if (!res.ok) throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
        return (await res.json()) as T;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The link to a section in the dashboard's navigation bar. */
export function section(page: Page, name: string) {
  return page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name, exact: true });
}

/** Controls a finger presses: each must be at least 44 px high on a phone. */
const TOUCH_CONTROLS =
  'button, select, input:not([type=radio]):not([type=checkbox]), textarea, nav a, .segmented label, a.button';

/**
 * Visible controls of the page less than 44 px high, described as `tag "text" (height px)`.
 * (Browser code is a string: the tests' TypeScript has no DOM types.)
 */
export async function smallTouchTargets(page: Page): Promise<string[]> {
  return (await page.evaluate(`(() => {
    const small = [];
    for (const element of document.querySelectorAll(${JSON.stringify(TOUCH_CONTROLS)})) {
      const box = element.getBoundingClientRect();
      if (box.width === 0 || box.height === 0 || box.height >= 43.5) continue;
      const text = (element.textContent || element.getAttribute('aria-label') || '').trim().slice(0, 30);
      small.push(element.tagName.toLowerCase() + ' "' + text + '" (' + Math.round(box.height) + ' px)');
    }
    return small;
  })()`)) as string[];
}

/** Pairs of chart axis labels whose boxes overlap, as `"a" / "b"`. */
export async function overlappingChartLabels(page: Page): Promise<string[]> {
  return (await page.evaluate(`(() => {
    const overlaps = [];
    for (const svg of document.querySelectorAll('.chart svg')) {
      const boxes = [...svg.querySelectorAll('text.tick')].map((t) => [t.textContent, t.getBoundingClientRect()]);
      boxes.forEach(([a, p], i) => boxes.slice(i + 1).forEach(([b, q]) => {
        if (p.left < q.right && q.left < p.right && p.top < q.bottom && q.top < p.bottom) overlaps.push('"' + a + '" / "' + b + '"');
      }));
    }
    return overlaps;
  })()`)) as string[];
}

/**
 * Saves the page at phone and desktop sizes as `<name>-<size>.png`, ending at desktop size;
 * fails when a control is too small to touch on the phone.
 */
export async function shoot(page: Page, name: string): Promise<void> {
  for (const size of ['phone', 'desktop'] as const) {
    await page.setViewportSize(SIZES[size]);
    await page.screenshot({ path: join(SHOTS, `${name}-${size}.png`), fullPage: true });
    if (size === 'phone') {
      const small = await smallTouchTargets(page);
      if (small.length > 0) throw new Error(`${name}: controls under 44 px on a phone: ${small.join(', ')}`);
    }
  }
}

/**
 * Marks the page's document, so a test can tell afterwards that what it saw changed without a
 * reload (a reload or a full navigation loses the mark).
 */
export async function markDocument(page: Page): Promise<() => Promise<boolean>> {
  await page.evaluate('window.__nightshiftMark = true');
  return async () => (await page.evaluate('window.__nightshiftMark === true')) === true;
}
