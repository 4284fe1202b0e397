import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import type { AuditEntry, AuditVerification } from '../types.ts';
import { Empty, ErrorBox, Link, Loading, useLoad } from '../ui.tsx';

/** Allowed or denied, for the entries that record a decision. */
export function decision(entry: AuditEntry): 'allowed' | 'denied' | '' {
  if (entry.kind === 'egress') return entry.data.allowed ? 'allowed' : 'denied';
  if (entry.kind === 'policy.denied' || entry.kind === 'budget.exceeded') return 'denied';
  return '';
}

function summary(entry: AuditEntry): string {
  const d = entry.data as Record<string, unknown>;
  if (entry.kind === 'exec') return `${(d.argv as string[]).join(' ')} → ${d.exitCode ?? d.signal ?? '?'}`;
  if (entry.kind === 'egress') return `${d.method} ${d.host}:${d.port} (${d.reason})`;
  if (entry.kind === 'model.call')
    return `${d.provider}:${d.model} ${d.inputTokens}/${d.outputTokens} tokens`;
  return Object.entries(d)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`)
    .join(' ');
}

/** The audit log, searchable by run, kind and decision, with the hash chain's verification. */
export function AuditPage() {
  const [run, setRun] = useState('');
  const [kind, setKind] = useState('');
  const [dec, setDec] = useState('');
  const [text, setText] = useState('');
  const verify = useLoad((signal) => api<AuditVerification>('/api/audit/verify', { signal }), []);
  const log = useLoad(
    async (signal) => {
      const q = run.trim() ? `?run=${encodeURIComponent(run.trim())}` : '';
      const body = await api<string>(`/api/audit/export${q}`, { text: true, signal });
      return body
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as AuditEntry)
        .reverse();
    },
    [run],
    5000,
  );
  const entries = (log.data ?? []).filter(
    (e) =>
      (!kind || e.kind === kind) &&
      (!dec || decision(e) === dec) &&
      (!text || JSON.stringify(e).toLowerCase().includes(text.toLowerCase())),
  );
  const kinds = [...new Set((log.data ?? []).map((e) => e.kind))].sort();
  return (
    <section>
      <h1>Audit log</h1>
      {verify.data ? (
        <p class={`state ${verify.data.ok ? 'ok' : 'error'}`} role="status">
          {verify.data.ok
            ? `Hash chain verified: ${verify.data.entries} entries intact${verify.data.head ? `, head #${verify.data.head.seq} ${verify.data.head.hash.slice(0, 12)}…` : ''}.`
            : `Hash chain BROKEN at #${verify.data.firstBad?.seq}: ${verify.data.firstBad?.problem} (${verify.data.firstBad?.detail}).`}
        </p>
      ) : verify.error ? (
        <ErrorBox error={verify.error} what="Audit verification" />
      ) : (
        <Loading what="the chain verification" />
      )}
      <form class="filters" aria-label="Search the audit log" onSubmit={(e) => e.preventDefault()}>
        <label>
          Run
          <input
            type="search"
            value={run}
            placeholder="run id or suffix"
            onChange={(e) => setRun(e.currentTarget.value)}
          />
        </label>
        <label>
          Kind
          <select value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
            <option value="">any</option>
            {kinds.map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </label>
        <label>
          Decision
          <select value={dec} onChange={(e) => setDec(e.currentTarget.value)}>
            <option value="">any</option>
            <option>allowed</option>
            <option>denied</option>
          </select>
        </label>
        <label>
          Text
          <input
            type="search"
            value={text}
            placeholder="anything"
            onInput={(e) => setText(e.currentTarget.value)}
          />
        </label>
      </form>
      {log.error ? <ErrorBox error={log.error} what="The audit log" /> : null}
      {log.data === null ? (
        log.error ? null : (
          <Loading what="the audit log" />
        )
      ) : entries.length === 0 ? (
        <Empty>No audit entries{log.data.length ? ' match' : ' yet'}.</Empty>
      ) : (
        <div class="scroll">
          <table class="data audit">
            <caption class="sr-only">Audit entries, newest first</caption>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">When</th>
                <th scope="col">Kind</th>
                <th scope="col">Decision</th>
                <th scope="col">Run</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {entries.slice(0, 500).map((e) => (
                <tr key={e.seq}>
                  <td>{e.seq}</td>
                  <td class="nowrap">{new Date(e.at).toLocaleString()}</td>
                  <td>{e.kind}</td>
                  <td>{decision(e) && <span class={`badge b-${decision(e)}`}>{decision(e)}</span>}</td>
                  <td>{e.run_id ? <Link href={`/runs/${e.run_id}`}>{e.run_id.slice(-8)}</Link> : '—'}</td>
                  <td class="detail">{summary(e)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
