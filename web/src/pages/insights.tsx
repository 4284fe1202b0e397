import { useState } from 'preact/hooks';
import { plural } from '../../../src/core/plural.ts';
import { api } from '../api.ts';
import { HBars, StackedBars } from '../charts.tsx';
import type { Insights } from '../types.ts';
import { duration, Empty, ErrorBox, Loading, num, usd, useLoad } from '../ui.tsx';

/** Runs per day, merged-change rate, time to change, usage by repo and automation, sandbox minutes. */
export function InsightsPage() {
  const [days, setDays] = useState(14);
  const data = useLoad((signal) => api<Insights>(`/api/insights?days=${days}`, { signal }), [days], 30_000);
  return (
    <section>
      <div class="title-row">
        <h1>Insights</h1>
        <label class="inline">
          Period
          <select value={days} onChange={(e) => setDays(Number(e.currentTarget.value))}>
            <option value={7}>7 days</option>
            <option value={14}>14 days</option>
            <option value={30}>30 days</option>
            <option value={90}>90 days</option>
          </select>
        </label>
      </div>
      {data.error ? <ErrorBox error={data.error} what="Insights" /> : null}
      {data.data === null ? (
        data.error ? null : (
          <Loading what="insights" />
        )
      ) : (
        <Figures insights={data.data} />
      )}
    </section>
  );
}

function Figures(props: { insights: Insights }) {
  const i = props.insights;
  const runs = i.days.reduce((n, d) => n + Object.values(d.counts).reduce((a, b) => a + b, 0), 0);
  return (
    <>
      <div class="stats">
        <div class="stat primary">
          <span class="big">
            {i.changes.mergedRate === null ? '—' : `${Math.round(i.changes.mergedRate * 100)}%`}
          </span>
          <span>merged-change rate</span>
          <span class="muted small">
            {i.changes.merged} of {i.changes.total} changes merged
          </span>
        </div>
        <div class="stat">
          <span class="big">{duration(i.medianMsToChange)}</span>
          <span>median time to change</span>
        </div>
        <div class="stat">
          <span class="big">{num(runs)}</span>
          <span>runs</span>
        </div>
        <div class="stat">
          <span class="big">{num(i.sandboxMinutes)}</span>
          <span>sandbox minutes</span>
        </div>
      </div>
      <h2>Runs per day by conclusion</h2>
      {runs === 0 ? (
        <Empty>No runs in this period.</Empty>
      ) : (
        <StackedBars
          label="Runs per day by conclusion"
          columns={i.days.map((d) => ({ label: d.day, counts: d.counts }))}
        />
      )}
      <div class="two">
        <div>
          <h2>Tokens and cost by repo</h2>
          {i.byRepo.length === 0 ? (
            <Empty>No runs.</Empty>
          ) : (
            <HBars
              label="Cost by repo"
              rows={i.byRepo.map((g) => ({
                name: g.name,
                value: g.costUsd || g.tokens,
                text: `${usd(g.costUsd)} · ${num(g.tokens)} tok · ${plural(g.runs, 'run')}`,
              }))}
            />
          )}
        </div>
        <div>
          <h2>Tokens and cost by automation</h2>
          {i.byAutomation.length === 0 ? (
            <Empty>No runs started by automations or fleets.</Empty>
          ) : (
            <HBars
              label="Cost by automation"
              rows={i.byAutomation.map((g) => ({
                name: g.name,
                value: g.costUsd || g.tokens,
                text: `${usd(g.costUsd)} · ${num(g.tokens)} tok · ${plural(g.runs, 'run')}`,
              }))}
            />
          )}
        </div>
      </div>
    </>
  );
}
