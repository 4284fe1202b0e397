import { z } from 'zod';
import type { SubRunInfo } from '../types.ts';

/**
 * The sub-run tools an agent gets when the policy allows sub-runs: their names, descriptions and
 * inputs, one definition for every harness (the built-in agent's AI SDK tools, and the MCP server
 * the agent CLIs reach in the sandbox). Inputs are strict: a field the tool does not have (a run
 * id, say) is refused, never ignored.
 */
export const RUN_TOOLS = {
  start_run: {
    description:
      'Start a sub-run: another Nightshift run, in its own sandbox and on its own branch, doing a separate part of the work. Give a prompt (an agent works on it) or a script (a shell command). It starts queued; check it with run_status. The policy limits how many you may start and on which repos.',
    input: z.strictObject({
      prompt: z.string().min(1).optional().describe('Complete instructions for the agent of the sub-run'),
      script: z.string().min(1).optional().describe('A shell command to run instead of an agent'),
      repo: z
        .string()
        .min(1)
        .max(1000)
        .optional()
        .describe('Repository of the sub-run (default: this repository)'),
      blueprint: z
        .string()
        .min(1)
        .max(200)
        .optional()
        .describe('A built-in blueprint name (default: default or script)'),
    }),
  },
  run_status: {
    description: 'Read the status, conclusion and change of a sub-run you started.',
    input: z.strictObject({ id: z.string().min(1).max(200).describe('The id start_run returned') }),
  },
} as const;

export type RunToolName = keyof typeof RUN_TOOLS;

const PURPOSE =
  'start a sub-run (another run, in its own sandbox and on its own branch) for a separate part of the work, and read how it is doing. The policy limits how many you may start; a sub-run cannot start runs itself.';

/** The tools' line in the built-in agent's list of tools. */
export const RUN_TOOLS_LINE = `start_run, run_status: ${PURPOSE}`;

/** What an agent CLI is told about the tools (in its system prompt or instructions). */
export function runToolsInstructions(server: string): string {
  return `Nightshift, which runs you in this sandbox, adds two tools through its MCP server "${server}": start_run and run_status, to ${PURPOSE}`;
}

/** A sub-run as the agent reads it. */
export function describeRun(run: SubRunInfo): string {
  const lines = [
    `run ${run.id} on ${run.repo} (blueprint ${run.blueprint})`,
    `status: ${run.status}${run.conclusion ? `, conclusion: ${run.conclusion}` : ''}`,
  ];
  if (run.reason) lines.push(`reason: ${run.reason}`);
  if (run.branch) lines.push(`branch: ${run.branch}`);
  if (run.change) {
    lines.push(
      `change: ${run.change.files} files, +${run.change.insertions} -${run.change.deletions} (${run.change.state})`,
    );
  }
  return lines.join('\n');
}
