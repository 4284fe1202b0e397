import type { Engine } from '../engine/index.ts';
import type { ApiRoutes } from './router.ts';
import { InsightsQuery } from './schema.ts';

/** Tokens and cost of a group of runs (a repo, an automation). */
export interface UsageGroup {
  name: string;
  runs: number;
  tokens: number;
  costUsd: number;
}

/** What `GET /api/insights` answers: the last `days` days of runs, changes and usage. */
export interface Insights {
  since: string;
  days: { day: string; counts: Record<string, number> }[];
  changes: { total: number; merged: number; mergedRate: number | null };
  medianMsToChange: number | null;
  byRepo: UsageGroup[];
  byAutomation: UsageGroup[];
  sandboxMinutes: number;
}

const DAY_MS = 86_400_000;

/** `GET /api/insights`: read-only figures for the dashboard's insights page. */
export function insightsRoutes(api: ApiRoutes, engine: Engine): void {
  api.add(
    {
      method: 'get',
      path: '/api/insights',
      summary: 'Runs per day by conclusion, merged-change rate, time to change, usage by repo and automation',
      scope: 'runs:read',
      query: InsightsQuery,
      success: { status: 200, type: 'application/json', description: 'the figures' },
    },
    async (c, { query }) => c.json(await insights(engine, query.days, new Date())),
  );
}

/** Computes the insights of the `days` days up to `now` (UTC days). */
export async function insights(engine: Engine, days: number, now: Date): Promise<Insights> {
  const { db } = engine.store;
  const since = new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS - (days - 1) * DAY_MS);
  const runs = await db.query<{
    id: string;
    repo: string;
    trigger: string;
    outcome: string;
    created_at: Date | string;
    started_at: Date | string | null;
    finished_at: Date | string | null;
    change_state: string | null;
    change_at: Date | string | null;
    tokens: string | number | null;
    cost: string | number | null;
  }>(
    `SELECT r.id, rp.name AS repo, r.trigger, coalesce(r.conclusion, r.status) AS outcome,
            r.created_at, r.started_at, r.finished_at, c.state AS change_state, c.created_at AS change_at,
            (SELECT sum(u.input_tokens + u.output_tokens) FROM run_usage u WHERE u.run_id = r.id) AS tokens,
            (SELECT sum(u.cost_usd) FROM run_usage u WHERE u.run_id = r.id) AS cost
       FROM runs r JOIN repos rp ON rp.id = r.repo_id LEFT JOIN changes c ON c.run_id = r.id
      WHERE r.created_at >= $1`,
    [since],
  );
  const dayList = Array.from({ length: days }, (_, i) => ({
    day: new Date(since.getTime() + i * DAY_MS).toISOString().slice(0, 10),
    counts: {} as Record<string, number>,
  }));
  const byRepo = new Map<string, UsageGroup>();
  const byAutomation = new Map<string, UsageGroup>();
  const toChange: number[] = [];
  let changes = 0;
  let merged = 0;
  let sandboxMs = 0;
  for (const run of runs) {
    const created = new Date(run.created_at);
    const bucket = dayList[Math.floor((created.getTime() - since.getTime()) / DAY_MS)];
    if (bucket) bucket.counts[run.outcome] = (bucket.counts[run.outcome] ?? 0) + 1;
    if (run.change_state !== null && run.change_at !== null) {
      changes++;
      if (run.change_state === 'merged') merged++;
      toChange.push(new Date(run.change_at).getTime() - created.getTime());
    }
    if (run.started_at !== null) {
      const end = run.finished_at === null ? now : new Date(run.finished_at);
      sandboxMs += Math.max(0, end.getTime() - new Date(run.started_at).getTime());
    }
    const usage = { tokens: Number(run.tokens ?? 0), costUsd: Number(run.cost ?? 0) };
    addTo(byRepo, run.repo, usage);
    // Automations start runs with the trigger `KIND:NAME` (cron:nightly, webhook:deploy ...).
    const automation = /^[a-z_]+:(.+)$/.exec(run.trigger)?.[1];
    if (automation) addTo(byAutomation, automation, usage);
  }
  return {
    since: since.toISOString(),
    days: dayList,
    changes: { total: changes, merged, mergedRate: changes === 0 ? null : merged / changes },
    medianMsToChange: median(toChange),
    byRepo: sorted(byRepo),
    byAutomation: sorted(byAutomation),
    sandboxMinutes: Math.round((sandboxMs / 60_000) * 10) / 10,
  };
}

function addTo(groups: Map<string, UsageGroup>, name: string, usage: { tokens: number; costUsd: number }) {
  const group = groups.get(name) ?? { name, runs: 0, tokens: 0, costUsd: 0 };
  group.runs++;
  group.tokens += usage.tokens;
  group.costUsd += usage.costUsd;
  groups.set(name, group);
}

function sorted(groups: Map<string, UsageGroup>): UsageGroup[] {
  return [...groups.values()].sort((a, b) => b.costUsd - a.costUsd || b.runs - a.runs);
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const ordered = [...values].sort((a, b) => a - b);
  const mid = Math.floor(ordered.length / 2);
  return ordered.length % 2 === 1 ? ordered[mid]! : (ordered[mid - 1]! + ordered[mid]!) / 2;
}
