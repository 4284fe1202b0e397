import type { RunEvent, StepUsage } from '../types.ts';

type ToolResult = Extract<RunEvent, { type: 'agent.tool_result' }>['data'];

import { duration, Empty, num, usd } from '../ui.tsx';

/** Assistant messages, tool calls (output collapsible), file changes and follow-ups, in order. */
export function Transcript(props: { events: RunEvent[] }) {
  const results = new Map<string, ToolResult>();
  for (const e of props.events) if (e.type === 'agent.tool_result') results.set(e.data.id, e.data);
  // A stopped agent's harness reports the abort as an error: "agent stopped by NAME" says it already.
  const stoppedAt = props.events.find((e) => e.type === 'agent.stopped')?.seq ?? Number.POSITIVE_INFINITY;
  const items = props.events.filter(
    (e) =>
      !(e.type === 'agent.error' && e.seq > stoppedAt) &&
      [
        'agent.message',
        'agent.tool_call',
        'agent.file_change',
        'agent.follow_up',
        'agent.error',
        'agent.stopped',
        'run.follow_up_requested',
      ].includes(e.type),
  );
  if (items.length === 0) return <Empty>No agent activity yet (script runs have none: see the log).</Empty>;
  return (
    <ol class="transcript">
      {items.map((e) => {
        switch (e.type) {
          case 'agent.message':
            return (
              <li key={e.seq} class="msg assistant">
                <span class="who">agent</span>
                <p>{e.data.text}</p>
              </li>
            );
          case 'run.follow_up_requested':
            return (
              <li key={e.seq} class="msg person">
                <span class="who">{e.data.by ?? 'someone'} (queued)</span>
                <p>{e.data.message}</p>
              </li>
            );
          case 'agent.follow_up':
            return (
              <li key={e.seq} class="msg person">
                <span class="who">follow-up from {e.data.by ?? 'someone'}, delivered</span>
                <p>{e.data.message}</p>
              </li>
            );
          case 'agent.tool_call': {
            const result = results.get(e.data.id);
            return (
              <li key={e.seq} class="tool">
                <details>
                  <summary>
                    <span class="tool-name">{e.data.name}</span> <code>{preview(e.data.input)}</code>
                    {result?.isError ? <span class="badge b-failure">error</span> : null}
                  </summary>
                  <pre class="term small">{JSON.stringify(e.data.input, null, 2)}</pre>
                  {result ? <pre class="term small">{result.output}</pre> : <p class="muted">running…</p>}
                </details>
              </li>
            );
          }
          case 'agent.file_change':
            return (
              <li key={e.seq} class="file-change">
                <span class={`fc-${e.data.kind}`}>{e.data.kind}</span> <code>{e.data.path}</code>
              </li>
            );
          case 'agent.stopped':
            return (
              <li key={e.seq} class="note">
                agent stopped by {e.data.by ?? 'someone'}
              </li>
            );
          case 'agent.error':
            return (
              <li key={e.seq} class="note error">
                {e.data.message}
              </li>
            );
          default:
            return null;
        }
      })}
    </ol>
  );
}

function preview(input: unknown): string {
  const text =
    typeof input === 'object' && input ? Object.values(input).map(String).join(' ') : String(input);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

interface Step {
  step: string;
  kind: string;
  round?: number;
  start: number;
  ms: number | null;
  ok: boolean | null;
}

/** Steps in order with their durations as bars. */
export function Timeline(props: { events: RunEvent[] }) {
  const steps: Step[] = [];
  for (const e of props.events) {
    if (e.type === 'step.started')
      steps.push({
        step: e.data.step,
        kind: e.data.kind,
        round: e.data.round,
        start: Date.parse(e.at),
        ms: null,
        ok: null,
      });
    if (e.type === 'step.finished') {
      const open = steps.findLast((s) => s.step === e.data.step && s.ms === null);
      if (open) Object.assign(open, { ms: e.data.ms, ok: e.data.ok });
    }
  }
  if (steps.length === 0) return <Empty>No steps have started yet.</Empty>;
  const longest = Math.max(...steps.map((s) => s.ms ?? Date.now() - s.start), 1);
  return (
    <ol class="timeline">
      {steps.map((s, i) => {
        const ms = s.ms ?? Date.now() - s.start;
        return (
          <li key={i}>
            <span class={`dot ${s.ok === null ? 'live' : s.ok ? 'ok' : 'bad'}`} aria-hidden="true" />
            <span class="step-name">
              {s.step}
              {s.round ? ` (round ${s.round})` : ''} <span class="muted small">{s.kind}</span>
            </span>
            <span class="bar" aria-hidden="true">
              <span
                style={{ width: `${Math.max(2, (ms / longest) * 100)}%` }}
                class={s.ok === false ? 'bad' : ''}
              />
            </span>
            <span class="dur">{s.ms === null ? `${duration(ms)}…` : duration(s.ms)}</span>
            <span class="sr-only">{s.ok === null ? 'running' : s.ok ? 'succeeded' : 'failed'}</span>
          </li>
        );
      })}
    </ol>
  );
}

/** The run's output and lifecycle as a terminal would show it. */
export function Log(props: { events: RunEvent[] }) {
  if (props.events.length === 0) return <Empty>No output yet.</Empty>;
  return (
    <pre class="term">
      {props.events.map((e) => {
        if (e.type === 'step.output')
          return (
            <span key={e.seq} class={e.data.stream === 'stderr' ? 'stderr' : undefined}>
              {e.data.text}
            </span>
          );
        if (e.type === 'step.started')
          return <span key={e.seq} class="sys">{`▸ ${e.data.step} (${e.data.kind})\n`}</span>;
        if (e.type === 'step.finished')
          return (
            <span key={e.seq} class={e.data.ok ? 'sys' : 'stderr'}>
              {`${e.data.ok ? '✓' : '✗'} ${e.data.step} ${duration(e.data.ms)}${e.data.error ? `: ${e.data.error}` : ''}\n`}
            </span>
          );
        if (e.type === 'run.status') return <span key={e.seq} class="sys">{`● ${e.data.status}\n`}</span>;
        if (e.type === 'run.completed')
          return (
            <span
              key={e.seq}
              class="sys"
            >{`● ${e.data.conclusion}${e.data.reason ? `: ${e.data.reason}` : ''}\n`}</span>
          );
        if (e.type === 'policy.denied')
          return <span key={e.seq} class="stderr">{`policy denied ${e.data.what}: ${e.data.reason}\n`}</span>;
        return null;
      })}
    </pre>
  );
}

/** Tokens and cost per step and model, with totals. */
export function Usage(props: { usage: StepUsage[] | undefined }) {
  const rows = props.usage ?? [];
  if (rows.length === 0) return <p class="muted">No model usage.</p>;
  const total = rows.reduce(
    (t, r) => ({
      calls: t.calls + r.calls,
      inputTokens: t.inputTokens + r.inputTokens,
      outputTokens: t.outputTokens + r.outputTokens,
      costUsd: t.costUsd + r.costUsd,
    }),
    { calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 },
  );
  return (
    <div class="scroll">
      <table class="data">
        <caption class="sr-only">Model usage</caption>
        <thead>
          <tr>
            <th scope="col">Step</th>
            <th scope="col">Model</th>
            <th scope="col">Calls</th>
            <th scope="col">Tokens in / out</th>
            <th scope="col">Cost</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={`${r.step}${r.model}`}>
              <td>{r.step}</td>
              <td>{`${r.provider}:${r.model}`}</td>
              <td>{r.calls}</td>
              <td>{`${num(r.inputTokens)} / ${num(r.outputTokens)}`}</td>
              <td>{usd(r.costUsd)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row" colSpan={2}>
              Total
            </th>
            <td>{total.calls}</td>
            <td>{`${num(total.inputTokens)} / ${num(total.outputTokens)}`}</td>
            <td>{usd(total.costUsd)}</td>
          </tr>
        </tfoot>
      </table>
    </div>
  );
}
