import pc from 'picocolors';
import { answerStanding, answerTrouble, type RunAnswer } from '../core/answer.ts';
import type { RunEvent } from '../core/events.ts';
import { plural } from '../core/plural.ts';
import type { Run } from '../core/run.ts';
import type { RunDetails } from '../engine/index.ts';
import { driveFailureText } from '../fleets/drive-failure.ts';
import { type SwarmRunLink, type SwarmSummary, UNFINISHED_STATES } from '../fleets/swarm-store.ts';
import type { AutomationFire } from '../store/automations.ts';
import { type ListedRun, type StepUsage, totalUsage } from '../store/index.ts';

export function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s`;
}

export function ago(date: Date, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - date.getTime()) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

/** `completed/success` coloured by outcome. */
export function state(run: Pick<Run, 'status' | 'conclusion'>): string {
  if (run.status !== 'completed') return pc.cyan(run.status);
  const text = `completed/${run.conclusion}`;
  if (run.conclusion === 'success') return pc.green(text);
  if (run.conclusion === 'no_changes') return pc.dim(text);
  return pc.red(text);
}

/** What a listed run is part of: `facet docs in swarm api-v2`, `sub-run of 1a2b3c4d`, both, or ''. */
export function partOf({ parent, swarm }: Pick<ListedRun, 'parent' | 'swarm'>): string {
  const parts: string[] = [];
  if (swarm)
    parts.push(`${swarm.facet ? `${swarm.role} ${swarm.facet}` : swarm.role} in swarm ${swarm.name}`);
  if (parent) parts.push(`sub-run of ${parent.id.slice(-8)}`);
  return parts.join(', ');
}

/** Runs as a table; a PART OF column (swarm role, parent) when any run has one. */
export function runsTable(runs: ListedRun[]): string {
  if (runs.length === 0)
    return pc.dim('no runs yet: start one with `nightshift run --repo PATH --script CMD`');
  const related = runs.some((run) => run.parent || run.swarm);
  const rows = runs.map((run) => [
    run.id,
    state(run),
    run.blueprint,
    run.branch ?? '-',
    ago(run.createdAt),
    ...(related ? [partOf(run) || '-'] : []),
    (run.inputs.prompt ?? run.inputs.script ?? '').split('\n')[0]!.slice(0, 40),
  ]);
  const header = ['RUN', 'STATE', 'BLUEPRINT', 'BRANCH', 'CREATED', ...(related ? ['PART OF'] : []), 'TASK'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => stripAnsi(r[i]!).length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell + ' '.repeat(Math.max(0, widths[i]! - stripAnsi(cell).length)))
      .join('  ')
      .trimEnd();
  return [pc.bold(line(header)), ...rows.map(line)].join('\n');
}

export function runDetails({
  run,
  repo,
  change,
  usage,
  parent,
  children,
  swarm,
  answer,
}: RunDetails): string {
  const lines = [
    `${pc.bold('run')}        ${run.id}`,
    `${pc.bold('state')}      ${state(run)}${run.reason ? ` ${pc.dim(`(${run.reason})`)}` : ''}`,
    `${pc.bold('repo')}       ${repo.name} ${pc.dim(repo.url)}`,
    `${pc.bold('blueprint')}  ${run.blueprint}`,
    `${pc.bold('task')}       ${(run.inputs.prompt ?? run.inputs.script ?? '').split('\n')[0]}`,
    `${pc.bold('base')}       ${run.baseCommit?.slice(0, 12) ?? run.baseRef ?? repo.defaultBranch}`,
    `${pc.bold('attempt')}    ${run.attempt}`,
    `${pc.bold('created')}    ${run.createdAt.toISOString()} by ${run.author ?? '-'} via ${run.trigger}`,
  ];
  if (run.startedAt && run.finishedAt) {
    lines.push(`${pc.bold('took')}       ${duration(run.finishedAt.getTime() - run.startedAt.getTime())}`);
  }
  if (change) {
    const s = change.diffstat;
    lines.push(
      `${pc.bold('change')}     ${change.branch} @ ${change.headCommit.slice(0, 12)} (${change.state})`,
      `${pc.bold('diffstat')}   ${plural(s.files, 'file')} changed, ${pc.green(`+${s.insertions}`)} ${pc.red(`-${s.deletions}`)}`,
    );
    for (const file of s.perFile.slice(0, 20)) {
      lines.push(
        `             ${file.path} ${pc.green(`+${file.insertions}`)} ${pc.red(`-${file.deletions}`)}`,
      );
    }
  } else if (run.branch) {
    lines.push(`${pc.bold('branch')}     ${run.branch} ${pc.dim('(not pushed)')}`);
  }
  if (run.continues) lines.push(`${pc.bold('continues')}  ${run.continues}`);
  if (answer) lines.push(answerLine(answer, run));
  lines.push(...relatedLines(run, parent, children, swarm));
  lines.push(...usageLines(usage));
  return lines.join('\n');
}

/** Most children `show` names; the rest are counted. */
const SHOWN_CHILDREN = 10;

/** The runs a run is related to: who started it, what it started, and the swarm it is part of. */
function relatedLines(
  run: Run,
  parent: RunDetails['parent'],
  children: RunDetails['children'],
  swarm: RunDetails['swarm'],
): string[] {
  const lines: string[] = [];
  const link = (r: { id: string; status: Run['status']; conclusion: Run['conclusion'] }) =>
    `${r.id} ${state(r)}`;
  if (parent)
    lines.push(
      `${pc.bold('parent')}     ${link(parent)} ${pc.dim(`(${parent.blueprint}; this run is at depth ${parent.depth})`)}`,
    );
  if (children.length > 0) {
    const more = children.length > SHOWN_CHILDREN ? `, ${children.length - SHOWN_CHILDREN} more` : '';
    lines.push(`${pc.bold('children')}   ${children.slice(0, SHOWN_CHILDREN).map(link).join(', ')}${more}`);
  }
  if (swarm) {
    lines.push(`${pc.bold('swarm')}      ${swarmHead(swarm)}; this run: ${swarmRole(swarm)}`);
    lines.push(...swarmRunLines(swarm.runs, run.id));
  }
  return lines;
}

/** A swarm run's role: `planner`, `facet docs`, `converge`. */
function swarmRole(r: { role: string; facet: string | null }): string {
  return r.facet ? `${r.role} ${r.facet}` : r.role;
}

/** `api-v2 swm_… completed (reason)`. */
function swarmHead(swarm: { id: string; name: string; state: string; reason: string | null }): string {
  return `${swarm.name} ${pc.dim(swarm.id)} ${swarm.state}${swarm.reason ? ` ${pc.dim(`(${swarm.reason})`)}` : ''}`;
}

/** A swarm's runs, one a line with its role and outcome; `current` marked `(this run)`. */
function swarmRunLines(runs: SwarmRunLink[], current?: string): string[] {
  return runs.map(
    (r) =>
      `             ${swarmRole(r).padEnd(20)} ${r.id} ${state(r)}${r.id === current ? pc.dim(' (this run)') : ''}`,
  );
}

/**
 * How answering a fire's Slack thread went, when it failed: ` · answer in Slack failed N times
 * (tried again later): ERROR`, or given up; empty when it was answered, is not due yet, or has
 * no thread.
 */
export function answerNote(fire: Pick<AutomationFire, 'answer' | 'notifiedAt'>): string {
  const { answer } = fire;
  if (!answer?.error || fire.notifiedAt) return '';
  return ` · answer in Slack ${answerTrouble(answer)}`;
}

/** `show`'s answer line: what is posted where the run came from, and where posting it stands. */
function answerLine(answer: RunAnswer, run: Run): string {
  const { text, failed } = answerStanding(answer, run.status === 'completed');
  return `${pc.bold('answer')}     ${answer.to}: ${failed ? pc.red(text) : text}`;
}

/**
 * One swarm of `nightshift swarm list`: name, state, repo, its runs' outcomes, whether its drives
 * fail (`swarm status` says how), when it last moved.
 */
export function swarmLine(swarm: SwarmSummary, now = Date.now()): string {
  const succeeded = swarm.runs.filter((r) => r.conclusion === 'success').length;
  const active = swarm.runs.filter((r) => r.status !== 'completed').length;
  const runs = `${plural(swarm.runs.length, 'run')} (${succeeded} succeeded${active ? `, ${active} not finished` : ''})`;
  const failing = swarm.driveFailure
    ? pc.red(
        ` · drive failed ${swarm.driveFailure.failures === 1 ? 'once' : `${swarm.driveFailure.failures} times`}`,
      )
    : '';
  return `${swarm.name.padEnd(20)} ${swarm.state.padEnd(10)} ${swarm.repo} · ${runs}${failing} · updated ${ago(new Date(swarm.updatedAt), now)} ${pc.dim(swarm.id)}`;
}

/** `nightshift swarm status`: the execution, who drives it, its runs and its change. */
export function swarmDetails(swarm: SwarmSummary): string {
  const lines = [`${pc.bold('swarm')}      ${swarmHead(swarm)}`, `${pc.bold('repo')}       ${swarm.repo}`];
  if ((UNFINISHED_STATES as readonly string[]).includes(swarm.state)) {
    const idle = swarm.durable
      ? 'no process now: a server takes it up when one runs, or `nightshift swarm SPEC` continues it'
      : 'no process now: `nightshift swarm SPEC` continues it';
    lines.push(`${pc.bold('driven by')}  ${swarm.driver ?? pc.dim(idle)}`);
    const failure = driveFailureText(swarm);
    if (failure) lines.push(`${pc.bold('failing')}    ${pc.red(failure)}`);
  }
  lines.push(
    `${pc.bold('started')}    ${new Date(swarm.createdAt).toISOString()} ${pc.dim(`(updated ${ago(new Date(swarm.updatedAt))})`)}`,
  );
  lines.push(
    `${pc.bold('runs')}${swarm.runs.length ? '' : `       ${pc.dim('none yet')}`}`,
    ...swarmRunLines(swarm.runs),
  );
  if (swarm.change) {
    const { branch, headCommit, url } = swarm.change;
    lines.push(`${pc.bold('change')}     ${branch} ${headCommit.slice(0, 8)}${url ? ` ${url}` : ''}`);
  }
  return lines.join('\n');
}

const count = (n: number) => n.toLocaleString('en-US');

/** Tokens and cost in total and per step and model, as the model gateway metered them. */
function usageLines(usage: StepUsage[]): string[] {
  if (usage.length === 0) return [`${pc.bold('usage')}      ${pc.dim('no model calls')}`];
  const total = totalUsage(usage);
  const describe = (u: Omit<StepUsage, 'step' | 'provider' | 'model'>) =>
    `${plural(u.calls, 'call')}, ${count(u.inputTokens)} in / ${count(u.outputTokens)} out, $${u.costUsd.toFixed(4)}`;
  return [
    `${pc.bold('usage')}      ${describe(total)}`,
    ...usage.map((u) => `             ${u.step} ${pc.dim(`${u.provider}:${u.model}`)} ${describe(u)}`),
  ];
}

/** One event as a person reads it; output is passed through as it came. Null hides the event. */
export function formatEvent(event: RunEvent, options: { output: boolean }): string | null {
  switch (event.type) {
    case 'run.created': {
      const continues = event.data.continues ? `, continues ${event.data.continues}` : '';
      return pc.dim(
        `· ${event.data.blueprint} run on ${event.data.repo} (${event.data.trigger}${continues})`,
      );
    }
    case 'run.status':
      return event.data.status === 'completed' ? null : pc.dim(`· ${event.data.status}`);
    case 'run.attempt':
      return pc.yellow(`↻ attempt ${event.data.attempt}: ${event.data.reason}`);
    case 'run.cancel_requested':
      return pc.yellow(`■ cancel requested${event.data.by ? ` by ${event.data.by}` : ''}`);
    case 'run.follow_up_requested':
      return pc.cyan(
        `✉ follow-up${event.data.by ? ` from ${event.data.by}` : ''} queued: ${truncate(event.data.message, 200)}`,
      );
    case 'run.stop_requested':
      return pc.yellow(`■ stop requested${event.data.by ? ` by ${event.data.by}` : ''}`);
    case 'agent.follow_up':
      return pc.cyan(
        `✉ follow-up delivered to ${event.data.step}${event.data.by ? ` (from ${event.data.by})` : ''}`,
      );
    case 'agent.stopped':
      return pc.yellow(
        `■ agent stopped${event.data.by ? ` by ${event.data.by}` : ''}${event.data.step ? ` in ${event.data.step}` : ''}: later agent steps and fix rounds are skipped`,
      );
    case 'workspace.ready':
      return pc.dim(
        `· workspace at ${event.data.baseCommit.slice(0, 12)} in ${duration(event.data.ms)}${event.data.cached ? ' (cached base)' : ''}`,
      );
    case 'step.started':
      return pc.bold(`▶ ${event.data.step}${event.data.round ? ` (round ${event.data.round})` : ''}`);
    case 'step.output':
      if (!options.output) return null;
      return event.data.stream === 'stderr' ? pc.dim(event.data.text) : event.data.text;
    case 'step.finished': {
      if (event.data.skipped) return pc.dim(`- ${event.data.step} skipped: nothing to run`);
      const took = pc.dim(`(${duration(event.data.ms)})`);
      if (event.data.ok) return `${pc.green('✓')} ${event.data.step} ${took}`;
      return `${pc.red('✗')} ${event.data.step} ${took}${event.data.error ? ` ${event.data.error}` : ''}`;
    }
    case 'gate.failed':
      return pc.yellow(
        `↻ ${event.data.step} failed: fix round ${event.data.round}/${event.data.maxRounds} by ${event.data.fixStep}`,
      );
    case 'policy.applied': {
      const files = [event.data.files.server, event.data.files.repo].filter(Boolean);
      const from = files.length ? files.join(' + ') : 'the built-in default';
      const warnings = event.data.warnings.map((w) => pc.yellow(`\n  warning: ${w}`)).join('');
      return pc.dim(`· policy: ${from}`) + warnings;
    }
    case 'policy.denied':
      return pc.red(`⛔ ${event.data.what} denied: ${event.data.reason}`);
    case 'model.call':
      return pc.dim(
        `  model ${event.data.model || event.data.provider}: ${event.data.inputTokens} in, ${event.data.outputTokens} out, $${event.data.costUsd.toFixed(4)}${event.data.status === 200 ? '' : ` (HTTP ${event.data.status})`}`,
      );
    case 'change.created':
      return `${pc.green('⇪')} pushed ${pc.bold(event.data.branch)} @ ${event.data.headCommit.slice(0, 12)} (${plural(event.data.files, 'file')})`;
    case 'run.completed': {
      const text = `● ${event.data.conclusion}${event.data.reason ? `: ${event.data.reason}` : ''}`;
      return ['success', 'no_changes'].includes(event.data.conclusion) ? pc.green(text) : pc.red(text);
    }
    case 'agent.message':
      return `${pc.magenta('agent')} ${event.data.text}`;
    case 'agent.tool_call':
      return pc.cyan(`  → ${event.data.name} ${truncate(JSON.stringify(event.data.input), 200)}`);
    case 'agent.tool_result':
      return options.output ? pc.dim(indent(truncate(event.data.output, 2000))) : null;
    case 'agent.file_change':
      return pc.cyan(`  ✎ ${event.data.kind} ${event.data.path}`);
    case 'agent.usage':
      return pc.dim(`  tokens: ${event.data.inputTokens} in, ${event.data.outputTokens} out`);
    case 'agent.result':
      return `${pc.magenta('agent')} ${event.data.text}`;
    case 'agent.error':
      return pc.red(`agent error: ${event.data.message}`);
  }
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function indent(text: string): string {
  return text.replace(/^/gm, '    ');
}

function stripAnsi(text: string): string {
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}
