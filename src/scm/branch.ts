import { NightshiftError } from '../core/errors.ts';

/** How to write a branch name git accepts. */
const BRANCH_HINT = 'use letters, digits, `/`, `-`, `_` and `.` (see `git help check-ref-format`)';

/**
 * Whether git would accept `branch` (the rules of `git check-ref-format` for
 * `refs/heads/<branch>`), and it does not read as an option.
 */
export function isValidBranchName(branch: string): boolean {
  const components = branch.split('/');
  return (
    branch !== '' &&
    !branch.startsWith('-') &&
    !branch.endsWith('.') &&
    !branch.includes('..') &&
    !branch.includes('@{') &&
    // Control characters, space and the characters git reserves for revision syntax and globs.
    !/[\x00-\x20\x7f~^:?*[\\]/.test(branch) &&
    components.every((part) => part !== '' && !part.startsWith('.') && !part.endsWith('.lock'))
  );
}

/** Refuses a branch name git would refuse, and one that reads as an option. */
export function assertBranchName(branch: string): void {
  if (!isValidBranchName(branch)) {
    throw new NightshiftError('INVALID_INPUT', `${JSON.stringify(branch)} is not a valid branch name`, {
      hint: BRANCH_HINT,
    });
  }
}

/** The message a spec reports for an invalid branch name. */
export function branchNameProblem(branch: string): string | null {
  return isValidBranchName(branch)
    ? null
    : `${JSON.stringify(branch)} is not a valid branch name: ${BRANCH_HINT}`;
}
