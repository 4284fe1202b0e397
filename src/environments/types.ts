/** How a sandbox is prepared for a repo, normalized from whichever file described it. */
export interface Environment {
  /** Setup commands, each run with `sh -ec` in order; may be empty. */
  setup: string[];
  /** Environment variables for the run's steps. */
  env: Record<string, string>;
  /** Command that checks the work; null when the repo has none. */
  test: string | null;
  /** Names of the secrets setup steps receive (values come from the server, never the repo). */
  secrets?: string[];
}

/** Which file an environment came from. */
export type EnvironmentSource =
  | '.nightshift/environment.yml'
  | '.nightshift/environment.yaml'
  | '.devcontainer/devcontainer.json'
  | '.devcontainer.json'
  | 'none';

/** An environment with no setup, no variables and no test command. */
export function emptyEnvironment(): Environment {
  return { setup: [], env: {}, test: null };
}

/**
 * The environment's values for blueprint templates: `{{environment.setup}}` is the setup
 * commands joined with newlines (the step runs them with `sh -ec`, so the first failure
 * stops it), `{{environment.test}}` is the test command or ''. An empty value makes the
 * executor skip the step that uses it.
 */
export function environmentTemplateValues(environment: Environment): { setup: string; test: string } {
  return { setup: environment.setup.join('\n'), test: environment.test ?? '' };
}
