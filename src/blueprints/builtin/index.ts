/**
 * Built-in blueprints, kept as YAML text so they go through the same parser as users' files
 * (and users can copy them as a starting point). `nightshift run --blueprint default`.
 */

/** Set up, let an agent do the task, check with the tests (2 fix rounds), publish. */
export const DEFAULT_BLUEPRINT = `name: default
description: Set up, let an agent do the task, check with the tests (2 fix rounds), publish.
steps:
  - id: setup
    run: "{{environment.setup}}"
    secrets: true
  - id: agent
    agent:
      prompt: "{{prompt}}"
  - id: tests
    gate: "{{environment.test}}"
    fix: agent
    max_rounds: 2
  - id: publish
    publish: true
`;

/** Set up, run a script instead of an agent, check with the tests (no fix rounds), publish. */
export const SCRIPT_BLUEPRINT = `name: script
description: Set up, run a script, check with the tests (no fix rounds), publish.
steps:
  - id: setup
    run: "{{environment.setup}}"
    secrets: true
  - id: script
    run: "{{script}}"
  - id: tests
    gate: "{{environment.test}}"
  - id: publish
    publish:
      title: "{{script | firstline}}"
      body: "Ran this script:\\n\\n{{script}}\\n\\n---\\nMade by Nightshift run {{run.id}}."
`;

/**
 * Review a pull request without changing it: the agent's final answer is posted on the pull
 * request as a review by the GitHub trigger (lines `path:line: comment` become line comments).
 */
export const REVIEW_BLUEPRINT = `name: review
description: Review a pull request; the agent's findings are posted as a PR review.
steps:
  - id: setup
    run: "{{environment.setup}}"
    secrets: true
  - id: review
    agent:
      prompt: |
        This checkout is the head of pull request #{{inputs.pr}}, which asks to be merged
        into {{inputs.base}}. Review its changes (see the recent commits with git log -p).
        Do not change any file. Look for bugs, missing tests and unclear code. Answer with
        your review: a short summary, then one line per finding, written as
        path/to/file:LINE: what is wrong and how to fix it

        {{prompt}}
`;

/** Built-in blueprints by name. */
export const BUILTIN_BLUEPRINTS: Readonly<Record<string, string>> = {
  default: DEFAULT_BLUEPRINT,
  script: SCRIPT_BLUEPRINT,
  review: REVIEW_BLUEPRINT,
};
