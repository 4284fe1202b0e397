import { type ToolSet, tool } from 'ai';
import { z } from 'zod';
import { NightshiftError } from '../../core/errors.ts';
import type { SubRunInfo, SubRunTools } from '../types.ts';

function describeRun(run: SubRunInfo): string {
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

/** The result for the model; a refusal becomes a tool error with its message and hint. */
async function answer(call: () => Promise<SubRunInfo>): Promise<string> {
  try {
    return describeRun(await call());
  } catch (error) {
    if (error instanceof NightshiftError && error.hint) throw new Error(`${error.message} (${error.hint})`);
    throw error;
  }
}

/**
 * `start_run` and `run_status`: the agent starts sub-runs (each in its own sandbox, on its own
 * branch) and reads how they are doing. They run on the host, through the engine, which
 * checks every start against the policy's `runs` section; a refusal reaches the model as a
 * tool error saying why.
 */
export function createRunTools(runs: SubRunTools): ToolSet {
  return {
    start_run: tool({
      description:
        'Start a sub-run: another Nightshift run, in its own sandbox and on its own branch, doing a separate part of the work. Give a prompt (an agent works on it) or a script (a shell command). It starts queued; check it with run_status. The policy limits how many you may start and on which repos.',
      inputSchema: z.object({
        prompt: z.string().min(1).optional().describe('Complete instructions for the agent of the sub-run'),
        script: z.string().min(1).optional().describe('A shell command to run instead of an agent'),
        repo: z.string().min(1).optional().describe('Repository of the sub-run (default: this repository)'),
        blueprint: z
          .string()
          .min(1)
          .optional()
          .describe('A built-in blueprint name (default: default or script)'),
      }),
      execute: (input) => answer(() => runs.start(input)),
    }),
    run_status: tool({
      description: 'Read the status, conclusion and change of a sub-run you started.',
      inputSchema: z.object({ id: z.string().min(1).describe('The id start_run returned') }),
      execute: (input) => answer(() => runs.status(input.id)),
    }),
  };
}
