import { RUN_CONCLUSIONS, RUN_STATUSES } from '../core/run.ts';
import type { Store } from '../store/index.ts';

/** Upper bounds (seconds) of the run duration histogram. */
export const DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200] as const;

/** Lines a server module adds to `/metrics` (Prometheus text format, with their HELP and TYPE). */
export type MetricsHook = () => string[] | Promise<string[]>;

/** The Prometheus text exposition of the store's runs and queue, then each module's lines. */
export async function renderMetrics(store: Store, hooks: readonly MetricsHook[]): Promise<string> {
  const lines: string[] = [];
  const counts = await store.db.query<{ status: string; conclusion: string | null; n: number }>(
    'SELECT status, conclusion, count(*)::integer AS n FROM runs GROUP BY status, conclusion',
  );
  lines.push('# HELP nightshift_runs Runs by status, and by conclusion once completed.');
  lines.push('# TYPE nightshift_runs gauge');
  for (const status of RUN_STATUSES) {
    if (status === 'completed') continue;
    const n = counts.find((row) => row.status === status)?.n ?? 0;
    lines.push(`nightshift_runs{status="${status}"} ${n}`);
  }
  for (const conclusion of RUN_CONCLUSIONS) {
    const n = counts.find((row) => row.status === 'completed' && row.conclusion === conclusion)?.n ?? 0;
    lines.push(`nightshift_runs{status="completed",conclusion="${conclusion}"} ${n}`);
  }

  lines.push('# HELP nightshift_queue_depth Runs waiting to be claimed by a worker.');
  lines.push('# TYPE nightshift_queue_depth gauge');
  lines.push(`nightshift_queue_depth ${await store.queueDepth()}`);

  const buckets = DURATION_BUCKETS.map((b, i) => `count(*) FILTER (WHERE d <= ${b})::integer AS b${i}`);
  const [hist] = await store.db.query<Record<string, number>>(
    `SELECT ${buckets.join(', ')}, count(*)::integer AS n, coalesce(sum(d), 0)::float8 AS total
     FROM (SELECT extract(epoch FROM finished_at - started_at)::float8 AS d FROM runs
           WHERE status = 'completed' AND started_at IS NOT NULL AND finished_at IS NOT NULL) durations`,
  );
  lines.push(
    '# HELP nightshift_run_duration_seconds Wall-clock time of completed runs, from claim to conclusion.',
  );
  lines.push('# TYPE nightshift_run_duration_seconds histogram');
  DURATION_BUCKETS.forEach((bound, i) => {
    lines.push(`nightshift_run_duration_seconds_bucket{le="${bound}"} ${hist?.[`b${i}`] ?? 0}`);
  });
  lines.push(`nightshift_run_duration_seconds_bucket{le="+Inf"} ${hist?.n ?? 0}`);
  lines.push(`nightshift_run_duration_seconds_sum ${hist?.total ?? 0}`);
  lines.push(`nightshift_run_duration_seconds_count ${hist?.n ?? 0}`);

  for (const hook of hooks) lines.push(...(await hook()));
  return `${lines.join('\n')}\n`;
}
