import { type Blueprint, hasAgentStep } from '../blueprints/types.ts';
import { NightshiftError } from '../core/errors.ts';
import type { Run } from '../core/run.ts';
import type { Store } from '../store/index.ts';
import { runChildrenQueries } from '../store/run-children.ts';

export interface ContinueRequest {
  prompt: string;
  author?: string | null;
  trigger?: string;
}

/**
 * Starts a run that continues a completed one: the same repo, blueprint and branch, starting
 * from the change the earlier run pushed (or from its base when it pushed none), with the
 * agent's conversation resumed from the earlier run's session state and `prompt` as the new
 * message. Publishing then updates the same branch. A continued sub-run keeps its place under
 * the run that started it (its parent and depth in `run_children`): it is still that run's
 * work, and still as deep for the policy's `runs.max_depth`. A continued swarm run keeps its
 * role in the swarm (facet or converge), created with it in one statement.
 */
export async function continueRun(store: Store, previousId: string, request: ContinueRequest): Promise<Run> {
  const previous = await store.getRun(previousId);
  if (previous.status !== 'completed') {
    throw new NightshiftError('CONFLICT', `run ${previous.id} is still ${previous.status}`, {
      hint: 'send the agent a follow-up with `nightshift say RUN "..."`; it is delivered when its turn ends',
    });
  }
  if (request.prompt.trim() === '')
    throw new NightshiftError('INVALID_INPUT', 'the follow-up message is empty');
  const blueprint = await agentBlueprint(store, previous, 'start a new run with `nightshift run`');
  const [change, parent] = await Promise.all([
    store.changes.forRun(previous.id),
    runChildrenQueries(store.db).parent(previous.id),
  ]);
  return store.createRun({
    repoId: previous.repoId,
    blueprint: previous.blueprint,
    blueprintSpec: blueprint,
    inputs: {
      prompt: request.prompt,
      values: previous.inputs.values,
      harness: previous.inputs.harness,
      model: previous.inputs.model,
    },
    timeoutMs: previous.timeoutMs,
    baseRef: change ? `refs/heads/${change.branch}` : previous.baseCommit,
    branch: change?.branch ?? previous.branch,
    priority: previous.priority,
    trigger: request.trigger ?? 'follow_up',
    author: request.author ?? null,
    continues: previous.id,
    parent: parent ? { runId: parent.id, depth: parent.depth } : undefined,
  });
}

/**
 * The blueprint of a run with an agent step; refuses a run without one (a `script` run), which
 * has no agent to take a follow-up or a stop, with `hint`.
 */
export async function agentBlueprint(store: Store, run: Run, hint: string): Promise<Blueprint> {
  const blueprint = (await store.blueprintSpec(run.id)) as Blueprint;
  if (hasAgentStep(blueprint)) return blueprint;
  throw new NightshiftError('INVALID_INPUT', `run ${run.id} has no agent step (blueprint ${run.blueprint})`, {
    hint,
  });
}
