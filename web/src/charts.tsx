/** Inline SVG charts: stacked bars (per day) and a line (burn-down). */

export const COLORS: Record<string, string> = {
  success: '#2e9d5b',
  succeeded: '#2e9d5b',
  no_changes: '#8a94a6',
  waiting: '#14b8a6',
  failure: '#d64545',
  failed: '#d64545',
  error: '#b02a6b',
  cancelled: '#c9a227',
  timed_out: '#e07b28',
  policy_denied: '#7d4cdb',
  budget_exceeded: '#5b6ee1',
  running: '#3b82f6',
  queued: '#93c5fd',
  pending: '#cbd5e1',
};

export function StackedBars(props: {
  label: string;
  columns: { label: string; counts: Record<string, number> }[];
}) {
  const keys = [...new Set(props.columns.flatMap((c) => Object.keys(c.counts)))];
  const max = Math.max(1, ...props.columns.map((c) => Object.values(c.counts).reduce((a, b) => a + b, 0)));
  const w = 600;
  const h = 180;
  const bw = w / Math.max(props.columns.length, 1);
  // At most 7 day labels, counted back from the newest so its label never collides with another.
  const last = props.columns.length - 1;
  const step = Math.max(1, Math.ceil(props.columns.length / 7));
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${w} ${h + 20}`} role="img" aria-label={props.label}>
        <title>{props.label}</title>
        <line x1="0" y1={h} x2={w} y2={h} class="axis" />
        {props.columns.map((col, i) => {
          let y = h;
          return (
            <g key={col.label}>
              <title>{`${col.label}: ${
                Object.entries(col.counts)
                  .map(([k, v]) => `${v} ${k}`)
                  .join(', ') || 'none'
              }`}</title>
              {keys.map((k) => {
                const n = col.counts[k] ?? 0;
                const bh = (n / max) * (h - 10);
                y -= bh;
                return n ? (
                  <rect
                    key={k}
                    x={i * bw + 1}
                    y={y}
                    width={Math.max(bw - 2, 1)}
                    height={bh}
                    fill={COLORS[k] ?? '#888'}
                  />
                ) : null;
              })}
              {(last - i) % step === 0 && (
                <text x={i * bw + bw / 2} y={h + 14} text-anchor="middle" class="tick">
                  {col.label.slice(5)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption class="legend">
        {keys.map((k) => (
          <span key={k}>
            <i style={{ background: COLORS[k] ?? '#888' }} /> {k.replace(/_/g, ' ')}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}

export function LineChart(props: { label: string; points: { t: number; v: number }[]; max: number }) {
  const w = 600;
  const h = 160;
  if (props.points.length < 2) return <p class="muted">Not enough data for a chart yet.</p>;
  const t0 = props.points[0]!.t;
  const t1 = Math.max(props.points.at(-1)!.t, t0 + 1);
  const x = (t: number) => ((t - t0) / (t1 - t0)) * w;
  // 24 units of headroom keep the line clear of the max label in the top corner.
  const y = (v: number) => h - (v / Math.max(props.max, 1)) * (h - 24);
  const d = props.points.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${w} ${h + 20}`} role="img" aria-label={props.label}>
        <title>{props.label}</title>
        <line x1="0" y1={h} x2={w} y2={h} class="axis" />
        <path d={d} fill="none" stroke="#3b4cca" stroke-width="2.5" />
        <text x="2" y="12" class="tick">
          {props.max}
        </text>
        <text x={w - 2} y={h + 14} text-anchor="end" class="tick">
          {new Date(t1).toLocaleTimeString()}
        </text>
        <text x="2" y={h + 14} class="tick">
          {new Date(t0).toLocaleTimeString()}
        </text>
      </svg>
    </figure>
  );
}

export function HBars(props: { label: string; rows: { name: string; value: number; text: string }[] }) {
  const max = Math.max(...props.rows.map((r) => r.value), 0);
  return (
    <ul class="hbars" aria-label={props.label}>
      {props.rows.map((r) => (
        <li key={r.name}>
          <span class="name">{r.name}</span>
          <span class="bar" aria-hidden="true">
            <span style={{ width: `${max ? Math.max(1, (r.value / max) * 100) : 0}%` }} />
          </span>
          <span class="val">{r.text}</span>
        </li>
      ))}
    </ul>
  );
}
