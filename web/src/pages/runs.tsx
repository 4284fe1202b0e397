import { api } from '../api.ts';
import { CONCLUSIONS, type ListedRun, STATUSES } from '../types.ts';
import {
  ago,
  Badge,
  Empty,
  ErrorBox,
  Link,
  Loading,
  navigate,
  runOutcome,
  useLoad,
  usePath,
} from '../ui.tsx';
import { RelationTags } from './run-relations.tsx';

const FILTERS = ['status', 'conclusion', 'repo', 'trigger', 'fleet', 'author'] as const;
type Filter = (typeof FILTERS)[number];

/** Runs, newest first, filtered by the URL's query; refreshed every 2 seconds. */
export function RunsPage() {
  const path = usePath();
  const params = new URLSearchParams(path.split('?')[1] ?? '');
  const filters = Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? ''])) as Record<Filter, string>;
  const query = new URLSearchParams();
  for (const f of FILTERS) if (filters[f] && f !== 'fleet') query.set(f, filters[f]);
  // A fleet's runs carry the trigger `fleet:NAME`.
  if (filters.fleet) query.set('trigger', `fleet:${filters.fleet}`);
  query.set('limit', '100');
  const runs = useLoad(
    (signal) => api<{ runs: ListedRun[] }>(`/api/runs?${query}`, { signal }),
    [query.toString()],
    2000,
  );
  const set = (name: Filter, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    navigate(`/runs${next.size ? `?${next}` : ''}`);
  };
  return (
    <section>
      <div class="title-row">
        <h1>Runs</h1>
        <Link href="/new" class="button">
          New run
        </Link>
      </div>
      <form class="filters" aria-label="Filter runs" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status
          <select value={filters.status} onChange={(e) => set('status', e.currentTarget.value)}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Conclusion
          <select value={filters.conclusion} onChange={(e) => set('conclusion', e.currentTarget.value)}>
            <option value="">any</option>
            {CONCLUSIONS.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        {(['repo', 'trigger', 'fleet', 'author'] as const).map((f) => (
          <label key={f}>
            {f[0]!.toUpperCase() + f.slice(1)}
            <input
              type="search"
              value={filters[f]}
              placeholder="any"
              onChange={(e) => set(f, e.currentTarget.value.trim())}
            />
          </label>
        ))}
      </form>
      {runs.error ? <ErrorBox error={runs.error} /> : null}
      {runs.data === null ? (
        runs.error ? null : (
          <Loading what="runs" />
        )
      ) : runs.data.runs.length === 0 ? (
        <Empty>
          No runs{params.size ? ' match these filters' : ' yet'}. <Link href="/new">Start one</Link>.
        </Empty>
      ) : (
        <ul class="cards runs" aria-live="polite">
          {runs.data.runs.map((run) => (
            <li key={run.id} class="card run-card">
              <Link href={`/runs/${run.id}`} class="what card-cover">
                {run.inputs.prompt ?? run.inputs.script ?? run.blueprint}
              </Link>
              <span class="row">
                <Badge value={runOutcome(run)} />
                <code class="id">{run.id}</code>
                <RelationTags run={run} />
                <span class="muted">{ago(run.createdAt)}</span>
              </span>
              <span class="muted small">
                {run.blueprint} · {run.trigger}
                {run.author ? ` · ${run.author}` : ''}
                {run.reason ? ` · ${run.reason}` : ''}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
