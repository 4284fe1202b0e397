import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { COLORS, LineChart } from '../charts.tsx';
import {
  FLEET_REPO_STATES,
  type Fleet,
  type FleetRepoRow,
  type FleetStatus,
  type RunDetails,
} from '../types.ts';
import { Badge, Empty, ErrorBox, Link, Loading, useLoad } from '../ui.tsx';

const base = (name: string) => `/api/fleets/${encodeURIComponent(name)}`;

/** Fleets and their progress (API of branch feat/fleets: GET /api/fleets). */
export function FleetsPage() {
  const fleets = useLoad((signal) => api<{ fleets: Fleet[] }>('/api/fleets', { signal }), [], 5000);
  return (
    <section>
      <h1>Fleets</h1>
      {fleets.error ? <ErrorBox error={fleets.error} what="Fleets" /> : null}
      {fleets.data === null ? (
        fleets.error ? null : (
          <Loading what="fleets" />
        )
      ) : fleets.data.fleets.length === 0 ? (
        <Empty>
          No fleets yet: apply one with <code>nightshift fleet apply fleet.yaml</code>.
        </Empty>
      ) : (
        <ul class="cards">
          {fleets.data.fleets.map((f) => (
            <li key={f.name}>
              <Link href={`/fleets/${encodeURIComponent(f.name)}`} class="card-link">
                <span class="row">
                  <Badge value={f.state} /> <strong>{f.name}</strong>
                </span>
                {f.stateReason && <span class="muted small">{f.stateReason}</span>}
              </Link>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** One fleet: counts per state, burn-down, repos with filters, failures by message, actions. */
export function FleetPage(props: { name: string }) {
  const status = useLoad((signal) => api<FleetStatus>(base(props.name), { signal }), [props.name], 3000);
  const repos = useLoad(
    (signal) => api<{ repos: FleetRepoRow[] }>(`${base(props.name)}/repos`, { signal }),
    [props.name],
    3000,
  );
  const [filter, setFilter] = useState('');
  const [text, setText] = useState('');
  const [error, setError] = useState<unknown>(null);
  const act = async (what: string) => {
    setError(null);
    try {
      await api(`${base(props.name)}/${what}`, { method: 'POST', body: {} });
      status.reload();
      repos.reload();
    } catch (err) {
      setError(err);
    }
  };
  if (status.data === null)
    return status.error ? <ErrorBox error={status.error} what="Fleets" /> : <Loading what="the fleet" />;
  const s = status.data;
  const done =
    s.counts.succeeded + s.counts.waiting + s.counts.no_changes + s.counts.failed + s.counts.cancelled;
  const rows = (repos.data?.repos ?? []).filter(
    (r) => (!filter || r.state === filter) && (!text || r.repo.toLowerCase().includes(text.toLowerCase())),
  );
  return (
    <section>
      <p class="crumbs">
        <Link href="/fleets">Fleets</Link> / {s.fleet.name}
      </p>
      <div class="title-row">
        <h1>{s.fleet.name}</h1>
        <Badge value={s.fleet.state} title={s.fleet.stateReason ?? undefined} />
      </div>
      <div
        class="progress"
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={s.total}
        aria-valuenow={done}
        aria-label="Repos finished"
      >
        {FLEET_REPO_STATES.map((k) =>
          s.counts[k] ? (
            <span
              key={k}
              style={{ width: `${(s.counts[k] / Math.max(s.total, 1)) * 100}%`, background: COLORS[k] }}
            />
          ) : null,
        )}
      </div>
      <ul class="counts">
        {FLEET_REPO_STATES.map((k) => (
          <li key={k}>
            <i style={{ background: COLORS[k] }} /> {k.replace('_', ' ')} <strong>{s.counts[k]}</strong>
          </li>
        ))}
      </ul>
      <div class="row buttons">
        <button type="button" class="secondary" disabled={s.counts.failed === 0} onClick={() => act('retry')}>
          Retry failed ({s.counts.failed})
        </button>
        {s.fleet.state === 'active' && (
          <button type="button" class="secondary" onClick={() => act('pause')}>
            Pause
          </button>
        )}
        {s.fleet.state === 'paused' && (
          <button type="button" onClick={() => act('resume')}>
            Resume
          </button>
        )}
      </div>
      {error ? <ErrorBox error={error} /> : null}
      <h2>Burn-down</h2>
      <BurnDown rows={repos.data?.repos ?? []} total={s.total} createdAt={s.fleet.createdAt} />
      <h2>Failures by message</h2>
      {s.failures.length === 0 ? (
        <Empty>No failures.</Empty>
      ) : (
        <ul class="failures">
          {s.failures.map((f) => (
            <li key={f.reason}>
              <strong>{f.count}×</strong> {f.reason}
              <span class="muted small">
                {' '}
                {f.repos.slice(0, 5).join(', ')}
                {f.repos.length > 5 ? ' …' : ''}
              </span>
            </li>
          ))}
        </ul>
      )}
      <h2>Repos</h2>
      <form class="filters" aria-label="Filter repos" onSubmit={(e) => e.preventDefault()}>
        <label>
          State
          <select value={filter} onChange={(e) => setFilter(e.currentTarget.value)}>
            <option value="">any</option>
            {FLEET_REPO_STATES.map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </label>
        <label>
          Repo
          <input type="search" value={text} onInput={(e) => setText(e.currentTarget.value)} />
        </label>
      </form>
      {repos.error ? <ErrorBox error={repos.error} /> : null}
      <div class="scroll">
        <table class="data">
          <thead>
            <tr>
              <th scope="col">Repo</th>
              <th scope="col">State</th>
              <th scope="col">Run</th>
              <th scope="col">Change</th>
              <th scope="col">Reason</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.repo}>
                <td>{r.repo}</td>
                <td>
                  <Badge value={r.state} />
                </td>
                <td>{r.runId ? <Link href={`/runs/${r.runId}`}>{r.runId.slice(-8)}</Link> : '—'}</td>
                <td>
                  {r.change ? (
                    r.change.url ? (
                      <a href={r.change.url}>{r.change.state}</a>
                    ) : (
                      r.change.state
                    )
                  ) : (
                    '—'
                  )}
                </td>
                <td class="detail">{r.reason ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** Repos not yet finished over time, from the finish times of the repos' runs. */
function BurnDown(props: { rows: FleetRepoRow[]; total: number; createdAt: string }) {
  const ids = props.rows
    .map((r) => r.runId)
    .filter((id): id is string => id !== null)
    .slice(0, 200);
  const runs = useLoad(
    (signal) => Promise.all(ids.map((id) => api<RunDetails>(`/api/runs/${id}`, { signal }))),
    [ids.join()],
  );
  if (runs.data === null)
    return runs.error ? <ErrorBox error={runs.error} /> : <Loading what="the burn-down" />;
  const finished = runs.data
    .map((d) => (d.run.finishedAt ? Date.parse(d.run.finishedAt) : null))
    .filter((t): t is number => t !== null)
    .sort((a, b) => a - b);
  const points = [{ t: Date.parse(props.createdAt), v: props.total }];
  for (const [i, t] of finished.entries()) points.push({ t, v: props.total - i - 1 });
  if (points.at(-1)!.v > 0) points.push({ t: Date.now(), v: points.at(-1)!.v });
  return <LineChart label="Repos remaining over time" points={points} max={props.total} />;
}
