import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.ts';
import { type Dashboard, RUN_WAIT, shoot, startDashboard, WAIT } from './support/dashboard.ts';
import { type ModelServer, type ScriptedTurn, startModelServer } from './support/model-server.ts';
import { makeRepo } from './support/repos.ts';

const SWARM = 'docs-and-tests';
const PARENT = 'PARENT-TASK: count with a helper run';
const PLAN = {
  facets: [
    { id: 'docs', title: 'Docs', prompt: 'write docs.txt' },
    { id: 'tests', title: 'Tests', prompt: 'write tests.txt' },
  ],
};

/**
 * The scripted model for every agent at once, each answered by what its first message asks:
 * the swarm's planner writes the plan, the parent starts a sub-run, a facet or the sub-run writes
 * its file; every conversation's second turn ends it (a continued one's too).
 */
function answer(body: unknown): ScriptedTurn {
  const messages = (body as { messages: unknown[] }).messages;
  if (messages.length > 1) return { text: 'Done.' };
  const first = JSON.stringify(messages[0]);
  if (first.includes('facets.json'))
    return {
      toolCalls: [
        { name: 'write_file', input: { path: '.nightshift/facets.json', content: JSON.stringify(PLAN) } },
      ],
    };
  if (first.includes('PARENT-TASK'))
    return { toolCalls: [{ name: 'start_run', input: { prompt: 'write count.txt' } }] };
  const file = /write (\w+\.txt)/.exec(first)?.[1];
  if (!file) return { text: 'Nothing to do.' };
  return { toolCalls: [{ name: 'write_file', input: { path: file, content: `${file}\n` } }] };
}

interface SwarmView {
  id: string;
  conclusion: string;
  plannerRunId: string;
  facets: { id: string; runId: string }[];
  convergeRunId: string;
}

interface RunLinkView {
  id: string;
  blueprint: string;
  status: string;
  conclusion: string | null;
}

interface RunDetailsView {
  run: RunLinkView;
  children: RunLinkView[];
  swarm: { runs: (Omit<RunLinkView, 'blueprint'> & { role: string; facet: string | null })[] } | null;
}

interface ListedRunView {
  id: string;
  status: string;
  parent: { id: string } | null;
}

/** A run's status or conclusion as its badge reads. */
function outcome(run: { status: string; conclusion: string | null }): string {
  return (run.status === 'completed' ? run.conclusion! : run.status).replace(/_/g, ' ');
}

/** One of the run page's facts, by its exact name (a trigger such as `swarm:NAME` holds other names). */
function fact(page: Page, name: string) {
  return page
    .locator('.facts > div')
    .filter({ has: page.locator('dt', { hasText: new RegExp(`^${name}$`) }) });
}

/** The ids shown by the links of a list on the run page, in order. */
async function linkedIds(page: Page, list: string): Promise<string[]> {
  const links = page.getByRole('list', { name: list }).getByRole('link');
  return (await links.allTextContents()).map((text) => text.trim());
}

/**
 * Runs started by runs: a swarm whose planner agent proposed two facets (run with the CLI before
 * `serve` starts), and an agent run that started a sub-run with `start_run`, then a follow-up
 * continuing that sub-run. The run page links each run's parent and children with their outcome
 * and names its swarm and role; the runs list tags sub-runs (a continued one too, whose trigger
 * names no parent) and swarm runs, linking each to its parent.
 */
describe('the dashboard showing how runs are related, in headless Chromium', () => {
  let models: ModelServer;
  let dash: Dashboard;
  let swarm: SwarmView;
  let repo: string;

  beforeAll(async () => {
    models = await startModelServer({ script: Array(40).fill(answer) });
    dash = await startDashboard(
      { ANTHROPIC_API_KEY: 'sk-test-key', NIGHTSHIFT_ANTHROPIC_BASE_URL: models.url },
      async (env, dir) => {
        repo = join(dir, 'app');
        await makeRepo(repo, { 'app.txt': 'app\n' });
        writeFileSync(
          join(dir, 'swarm.yaml'),
          [
            `name: ${SWARM}`,
            `repo: ${repo}`,
            'goal: Document and test the app',
            'planner:',
            '  max_facets: 3',
            'converge:',
            '  gate: "test -f docs.txt && test -f tests.txt"',
          ].join('\n'),
        );
        // `swarm` needs the engine in its own process: it runs before `serve` owns the home.
        const ran = await runCli(['swarm', join(dir, 'swarm.yaml'), '--json'], env);
        if (ran.code !== 0) throw new Error(`swarm failed: ${ran.stdout}${ran.stderr}`);
        swarm = JSON.parse(ran.stdout) as SwarmView;
      },
    );
  }, 400_000);

  afterAll(async () => {
    await dash?.close();
    await models?.close();
  }, 60_000);

  it('links a swarm planner’s sub-runs with their roles and outcomes, and each facet back to its planner', {
    timeout: 300_000,
  }, async () => {
    expect(swarm.conclusion).toBe('success');
    const [docs, tests] = swarm.facets;

    const page = await dash.open(`/runs/${swarm.plannerRunId}`);

    const swarmFact = fact(page, 'Swarm');
    await expect.poll(() => swarmFact.textContent(), { timeout: WAIT }).toContain(SWARM);
    expect(await swarmFact.textContent()).toContain('planner');
    expect(await swarmFact.textContent()).toContain(swarm.id);
    expect(await fact(page, 'Parent').count()).toBe(0);
    // Each sub-run as the API gives it: outcome, id, role in the swarm and blueprint.
    const { children } = await dash.api<RunDetailsView>(`/api/runs/${swarm.plannerRunId}`);
    expect(children.map((c) => c.id)).toEqual([docs!.runId, tests!.runId, swarm.convergeRunId]);
    const roles = ['facet docs', 'facet tests', 'converge'];
    const subRuns = page.getByRole('list', { name: 'Sub-runs' }).getByRole('listitem');
    expect(await subRuns.allTextContents()).toEqual(
      children.map((c, i) => `${outcome(c)} ${c.id} ${roles[i]} · ${c.blueprint}`),
    );
    expect(await subRuns.nth(0).textContent()).toMatch(/^success /);
    expect(await linkedIds(page, 'Sub-runs')).toEqual(children.map((c) => c.id));
    // The planner's sub-runs are the whole swarm: it is not listed twice.
    expect(await page.getByRole('list', { name: `Runs of swarm ${SWARM}` }).count()).toBe(0);
    await shoot(page, 'run-swarm-planner');

    await page.getByRole('list', { name: 'Sub-runs' }).getByRole('link', { name: docs!.runId }).click();
    await page.waitForURL(new RegExp(`/runs/${docs!.runId}$`));
    const parentFact = fact(page, 'Parent');
    await expect.poll(() => parentFact.textContent(), { timeout: WAIT }).toContain(swarm.plannerRunId);
    expect(await parentFact.textContent()).toContain('success');
    expect(await fact(page, 'Swarm').textContent()).toContain('facet docs');
    const facet = await dash.api<RunDetailsView>(`/api/runs/${docs!.runId}`);
    const swarmRuns = page.getByRole('list', { name: `Runs of swarm ${SWARM}` }).getByRole('listitem');
    expect(await swarmRuns.allTextContents()).toEqual(
      facet.swarm!.runs.map((r, i) => {
        const role = ['planner', 'facet docs · this run', 'facet tests', 'converge'][i];
        return `${outcome(r)} ${r.id} ${role}`;
      }),
    );
    expect(await linkedIds(page, `Runs of swarm ${SWARM}`)).toEqual([
      swarm.plannerRunId,
      tests!.runId,
      swarm.convergeRunId,
    ]);
    await shoot(page, 'run-swarm-facet');
    await parentFact.getByRole('link').click();
    await page.waitForURL(new RegExp(`/runs/${swarm.plannerRunId}$`));
    await page.getByRole('list', { name: 'Sub-runs' }).waitFor();
    await page.close();
  });

  it('links an agent’s sub-run from its parent, with its status, and back; the runs list tags it and its continuation', {
    timeout: 400_000,
  }, async () => {
    const parent = await dash.api<{ id: string }>('/api/runs', {
      method: 'POST',
      body: { repo, prompt: PARENT },
    });

    // Opened at once: the sub-run appears, and its outcome follows without a reload.
    const page = await dash.open(`/runs/${parent.id}`);

    const item = page.getByRole('list', { name: 'Sub-runs' }).getByRole('listitem');
    await expect.poll(() => item.textContent(), { timeout: RUN_WAIT * 2 }).toMatch(/success.*default/);
    const [child] = (await dash.api<RunDetailsView>(`/api/runs/${parent.id}`)).children;
    expect(await linkedIds(page, 'Sub-runs')).toEqual([child!.id]);
    await page.getByRole('link', { name: child!.id }).click();
    await page.waitForURL(new RegExp(`/runs/${child!.id}$`));
    const parentFact = fact(page, 'Parent');
    await expect.poll(() => parentFact.textContent(), { timeout: WAIT }).toContain(parent.id);
    expect(await fact(page, 'Swarm').count()).toBe(0);
    await shoot(page, 'run-sub-run');
    await parentFact.getByRole('link').click();
    await page.waitForURL(new RegExp(`/runs/${parent.id}$`));

    // A follow-up continues the completed sub-run: its trigger is `follow_up`, its parent the same.
    const said = await dash.api<{ delivery: string; run: { id: string; trigger: string } }>(
      `/api/runs/${child!.id}/say`,
      { method: 'POST', body: { message: 'Now write more.txt' } },
    );
    expect(said).toMatchObject({ delivery: 'continued', run: { trigger: 'follow_up' } });
    const followUp = said.run.id;
    const listed = async (id: string) =>
      (await dash.api<{ runs: ListedRunView[] }>('/api/runs?limit=500')).runs.find((r) => r.id === id)!;
    await expect.poll(async () => (await listed(followUp)).status, { timeout: RUN_WAIT }).toBe('completed');
    expect((await listed(followUp)).parent?.id).toBe(parent.id);

    await page.goto(`${dash.url}/runs`);
    // By the card's own id: a card's tags hold other runs' ids.
    const card = (id: string) =>
      page.locator('ul.runs li').filter({ has: page.locator('code.id', { hasText: id }) });
    const subRunOf = (id: string) => `sub-run of ${id.slice(-8)}`;
    await expect.poll(() => card(followUp).textContent(), { timeout: WAIT }).toContain(subRunOf(parent.id));
    expect(await card(child!.id).textContent()).toContain(subRunOf(parent.id));
    expect(await card(parent.id).textContent()).not.toContain('sub-run');
    expect(await card(parent.id).locator('.tag').count()).toBe(0);
    const [docs, tests] = swarm.facets;
    const roles = [
      [swarm.plannerRunId, 'planner', null],
      [docs!.runId, 'facet docs', swarm.plannerRunId],
      [tests!.runId, 'facet tests', swarm.plannerRunId],
      [swarm.convergeRunId, 'converge', swarm.plannerRunId],
    ] as const;
    for (const [id, role, parentId] of roles) {
      const tags = await card(id).locator('.tag').allTextContents();
      expect(tags).toEqual([`${role} in swarm ${SWARM}`, ...(parentId ? [subRunOf(parentId)] : [])]);
    }
    await shoot(page, 'runs-related');
    // The tag links the parent; anywhere else on the card opens the run.
    await card(followUp)
      .getByRole('link', { name: parent.id.slice(-8) })
      .click();
    await page.waitForURL(new RegExp(`/runs/${parent.id}$`));
    await page.goto(`${dash.url}/runs`);
    await card(followUp).click();
    await page.waitForURL(new RegExp(`/runs/${followUp}$`));
    await page.close();
  });

  it('lists each swarm with its runs, roles and change, and cancels one the server drives', {
    timeout: 300_000,
  }, async () => {
    const slowRepo = join(dash.dir, 'slow');
    await makeRepo(slowRepo, { 'app.txt': 'app\n' });
    const text = [
      'name: slow',
      `repo: ${slowRepo}`,
      'goal: Wait',
      'facets:',
      '  - { id: wait, script: "sleep 120" }',
    ];
    const started = await dash.api<{ id: string }>('/api/swarms', {
      method: 'POST',
      body: { text: text.join('\n'), file: 'slow.yaml', cwd: dash.dir },
    });

    const page = await dash.open('/swarms');

    const done = page.getByRole('listitem', { name: `Swarm ${SWARM}` });
    await done.waitFor({ timeout: WAIT });
    expect(await done.locator('.badge').first().textContent()).toBe('completed');
    const runs = done.getByRole('list', { name: `Runs of swarm ${SWARM}` }).getByRole('listitem');
    const [docs, tests] = swarm.facets;
    expect(await runs.allTextContents()).toEqual([
      `success ${swarm.plannerRunId} planner`,
      `success ${docs!.runId} facet docs`,
      `success ${tests!.runId} facet tests`,
      `success ${swarm.convergeRunId} converge`,
    ]);
    expect(await done.textContent()).toMatch(/Change: nightshift\/swarm\/docs-and-tests [0-9a-f]{8}/);
    expect(await done.getByRole('button', { name: 'Cancel swarm' }).count()).toBe(0);
    const slow = page.getByRole('listitem', { name: 'Swarm slow' });
    const slowRun = slow.getByRole('list', { name: 'Runs of swarm slow' }).getByRole('listitem');
    await expect.poll(() => slowRun.textContent(), { timeout: WAIT }).toMatch(/^running run_\w+ facet wait$/);
    expect(await slow.textContent()).toMatch(/Driven by wrk_/);
    expect(await slow.textContent()).toContain(started.id);
    await shoot(page, 'swarms');

    await slow.getByRole('button', { name: 'Cancel swarm' }).click();

    await expect
      .poll(() => slow.locator('.badge').first().textContent(), { timeout: WAIT })
      .toBe('cancelled');
    await expect.poll(() => slowRun.textContent(), { timeout: RUN_WAIT }).toMatch(/^cancelled /);
    expect(await slow.textContent()).toMatch(/cancelled by \S+/);
    expect(await slow.getByRole('button', { name: 'Cancel swarm' }).count()).toBe(0);
    const [listed] = (await dash.api<{ swarms: { state: string }[] }>(`/api/swarms?id=${started.id}`)).swarms;
    expect(listed!.state).toBe('cancelled');
    await page.close();
  });
});
