import { type ToolSet, tool } from 'ai';
import { messageWithHint } from '../../core/errors.ts';
import { describeRun, RUN_TOOLS } from '../run-tools/definitions.ts';
import type { SubRunInfo, SubRunTools } from '../types.ts';

/** The result for the model; a refusal becomes a tool error with its message and hint. */
async function answer(call: () => Promise<SubRunInfo>): Promise<string> {
  try {
    return describeRun(await call());
  } catch (error) {
    throw new Error(messageWithHint(error));
  }
}

/**
 * `start_run` and `run_status`: the agent starts sub-runs (each in its own sandbox, on its own
 * branch) and reads how they are doing. They run on the host, through the engine, which
 * checks every start against the policy's `runs` section; a refusal reaches the model as a
 * tool error saying why.
 */
export function createRunTools(runs: SubRunTools): ToolSet {
  const { start_run, run_status } = RUN_TOOLS;
  return {
    start_run: tool({
      description: start_run.description,
      inputSchema: start_run.input,
      execute: (input) => answer(() => runs.start(input)),
    }),
    run_status: tool({
      description: run_status.description,
      inputSchema: run_status.input,
      execute: (input) => answer(() => runs.status(input.id)),
    }),
  };
}
