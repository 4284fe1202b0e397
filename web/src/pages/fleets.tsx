import { useState } from 'preact/hooks';
import { fleetProgress, lapsedText, progressText } from '../../../src/fleets/progress.ts';
import { api } from '../api.ts';
import { COLORS, LineChart } from '../charts.tsx';
import {
  FLEET_REPO_STATES,
  type FleetListed,
  type FleetRepoRow,
  type FleetSeriesPoint,
  type FleetStatus,
} from '../types.ts';
import { Badge, capitalized, duration, Empty, ErrorBox, Link, ListPage, Loading, useLoad } from '../ui.tsx';
import { FailureGroups, OpenFailureNote } from './fleet-parts.tsx';

const base = (name: string) => `/api/fleets/${encodeURIComponent(name)}`;

/** Fleets and their progress (API of branch feat/fleets: GET /api/fleets). */
export function FleetsPage() {
  const fleets = useLoad((signal) => api<{ fleets: FleetListed[] }>('/api/fleets', { signal }), [], 5000);
  return (
    <ListPage
      title="Fleets"
      what="fleets"
      list={fleets}
      items={(data) => data.fleets}
      empty={
        <>
          No fleets yet: apply one with <code>nightshift fleet apply fleet.yaml</code>.
        </>
      }
    >
      {(all) =>
        all.map((f) => (
          <li key={f.name}>
            <Link href={`/fleets/${encodeURIComponent(f.name)}`} class="card-link">
              <span class="row">
                <Badge value={f.state} /> <strong>{f.name}</strong>
              </span>
              {f.stateReason && <span class="muted small">{f.stateReason}</span>}
              {f.counts && <span class="muted small">{progressText(f.counts)}</span>}
            </Link>
          </li>
        ))
      }
    </ListPage>
  );
}

/** One fleet: counts per state, burn-down, repos with filters, failures by message, actions. */
export function FleetPage(props: { name: string }) {
  const status = useLoad((signal) => api<FleetStatus>(base(props.name), { signal }), [props.name], 3000);
  const [filter, setFilter] = useState('');
  const [text, setText] = useState('');
  // The state filter is applied by the server, so a large fleet's table is one page of matches.
  const repos = useLoad(
    (signal) =>
      api<{ repos: FleetRepoRow[]; nextAfter: number | null }>(
        `${base(props.name)}/repos?limit=500${filter ? `&state=${filter}` : ''}`,
        { signal },
      ),
    [props.name, filter],
    3000,
  );
  // Read again whenever the counts above change, so the chart never lags behind them.
  const counts = status.data ? JSON.stringify(status.data.counts) : null;
  const series = useLoad(
    (signal) => api<{ series: FleetSeriesPoint[] }>(`${base(props.name)}/series`, { signal }),
    [props.name, counts],
    5000,
  );
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
  const { done } = fleetProgress(s.counts);
  const rows = (repos.data?.repos ?? []).filter(
    (r) => !text || r.repo.toLowerCase().includes(text.toLowerCase()),
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
      {s.lapsed > 0 && (
        <p class="state unavailable" role="status">
          {capitalized(lapsedText(s.lapsed))}.
        </p>
      )}
      {s.nextChangeAt && (
        <p class="muted small">Rollout: the next waiting change may open {openingIn(s.nextChangeAt)}.</p>
      )}
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
        {s.fleet.state !== 'cancelled' && (
          <button type="button" class="secondary" onClick={() => act('cancel')}>
            Cancel fleet
          </button>
        )}
      </div>
      {error ? <ErrorBox error={error} /> : null}
      <h2>Burn-down</h2>
      {series.data ? (
        <BurnDown series={series.data.series} total={s.total} />
      ) : series.error ? (
        <ErrorBox error={series.error} what="The burn-down" />
      ) : (
        <Loading what="the burn-down" />
      )}
      <h2>Failures by message</h2>
      {s.failures.length === 0 && s.openFailures.length === 0 ? <Empty>No failures.</Empty> : null}
      <FailureGroups label="Failed runs, by message" groups={s.failures} />
      {s.openFailures.length > 0 && (
        <>
          <h3>Changes not opened yet</h3>
          <p class="muted small">
            Their runs succeeded; opening each change failed, and it is tried again after a backoff.
          </p>
          <FailureGroups label="Changes not opened, by message" groups={s.openFailures} />
        </>
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
      {repos.error ? <ErrorBox error={repos.error} what="The repos of this fleet" /> : null}
      {repos.data === null ? (
        repos.error ? null : (
          <Loading what="the repos" />
        )
      ) : rows.length === 0 ? (
        <Empty>No repos {filter || text ? 'match these filters' : 'in this fleet'}.</Empty>
      ) : (
        <div class="scroll">
          <table class="data stacked">
            <caption class="sr-only">Repos of the fleet</caption>
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
                  <td class="detail">
                    {r.reason ?? ''}
                    {r.change?.openFailure && <OpenFailureNote failure={r.change.openFailure} />}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {repos.data?.nextAfter ? <p class="muted small">Showing the first 500 repos.</p> : null}
    </section>
  );
}

/** `now`, or `in 59m 30s` (the rollout's rate, windows and backoffs decide when). */
function openingIn(iso: string): string {
  const ms = Date.parse(iso) - Date.now();
  return ms < 1000 ? 'now' : `in ${duration(ms)}`;
}

/** Repos not yet finished over time, from the counts the rollout recorded at each step. */
function BurnDown(props: { series: FleetSeriesPoint[]; total: number }) {
  if (props.series.length === 0) return <Empty>No progress recorded yet.</Empty>;
  const points = props.series.map((p) => ({
    t: Date.parse(p.at),
    v: p.counts.pending + p.counts.queued + p.counts.running,
  }));
  return <LineChart label="Repos remaining over time" points={points} max={props.total} />;
}
