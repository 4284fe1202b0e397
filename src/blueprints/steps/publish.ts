import { PublishDeniedError } from '../../scm/errors.ts';
import { renderTemplate } from '../template.ts';
import type { PublishStep } from '../types.ts';
import type { StepContext, StepOutcome } from './context.ts';

/**
 * Commits the workspace's files on the run's branch and pushes it, outside the sandbox, then
 * records the change. Nothing changed: `no_changes`, and nothing is pushed.
 */
export async function runPublishStep(context: StepContext, step: PublishStep): Promise<StepOutcome> {
  const title = renderTemplate(step.title, context.vars).trim() || `Nightshift run ${context.run.id}`;
  const body = renderTemplate(step.body, context.vars);
  let result: Awaited<ReturnType<typeof context.scm.publish>>;
  const checks = [...(context.gates ?? [])].map(([name, ok]) => ({ name, ok }));
  // A branch Nightshift pushed before is updated only from the head it pushed (force-with-lease).
  const lastHead = await context.store.changes.lastHead(context.repo.id, context.branch, context.run.id);
  const baseCommit = step.onto ?? context.baseCommit;
  try {
    result = await context.scm.publish({
      repo: context.repo,
      runId: context.run.id,
      baseCommit,
      branch: context.branch,
      title,
      body,
      author: context.author,
      date: context.run.createdAt,
      workspace: context.sandbox.view,
      review: context.reviewChange,
      summary: { prompt: context.run.inputs.prompt, blueprint: context.run.blueprint, checks },
      expectedHead: lastHead ?? (step.lease ? null : undefined),
      deferOpen: step.deferOpen,
      draft: step.draft,
      branchOnly: step.branchOnly,
    });
  } catch (error) {
    if (error instanceof PublishDeniedError)
      return { ok: false, conclusion: 'policy_denied', reason: error.reason };
    throw error;
  }
  if (!result) return { ok: true, conclusion: 'no_changes', reason: 'the run changed no files' };
  const change = await context.store.recordChange({
    runId: context.run.id,
    repoId: context.repo.id,
    branch: context.branch,
    baseCommit,
    headCommit: result.headCommit,
    title,
    body,
    diffstat: result.diffstat,
    diff: result.diff,
    state: result.state ?? 'local',
    url: result.url,
  });
  context.auditPublish?.({ branch: change.branch, headCommit: change.headCommit });
  context.events.push({
    type: 'change.created',
    data: {
      changeId: change.id,
      branch: change.branch,
      headCommit: change.headCommit,
      files: result.diffstat.files,
    },
  });
  return { ok: true };
}
