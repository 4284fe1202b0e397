import { plural } from '../../core/plural.ts';
import type { DiffStat } from '../../core/run.ts';
import type { RunSummary } from '../types.ts';

/** The body of a run's pull request: the prompt, blueprint, diffstat, checks and a link to the run. */
export function pullRequestBody(input: {
  runId: string;
  body: string;
  diffstat: DiffStat;
  summary?: RunSummary;
  runUrl?: string;
}): string {
  const { diffstat, summary } = input;
  const lines: string[] = [];
  if (input.body.trim()) lines.push(input.body.trim(), '');
  if (summary?.prompt) lines.push('### Prompt', '', quote(summary.prompt), '');
  lines.push('### Run', '');
  lines.push(`- Run: ${input.runUrl ? `[${input.runId}](${input.runUrl})` : `\`${input.runId}\``}`);
  if (summary) lines.push(`- Blueprint: \`${summary.blueprint}\``);
  lines.push(
    `- Diffstat: ${plural(diffstat.files, 'file')} changed, +${diffstat.insertions} −${diffstat.deletions}`,
  );
  for (const file of diffstat.perFile.slice(0, 20)) {
    lines.push(`  - \`${file.path}\` +${file.insertions} −${file.deletions}`);
  }
  if (diffstat.perFile.length > 20) lines.push(`  - … and ${diffstat.perFile.length - 20} more`);
  if (summary) {
    const checks = summary.checks.length
      ? summary.checks.map((c) => `${c.ok ? '✅' : '❌'} \`${c.name}\``).join(', ')
      : 'none';
    lines.push(`- Checks: ${checks}`);
  }
  lines.push('', `<!-- nightshift-run: ${input.runId} -->`);
  return `${lines.join('\n')}\n`;
}

function quote(text: string): string {
  return text
    .trim()
    .split('\n')
    .map((line) => `> ${line}`)
    .join('\n');
}
