import { describe, expect, it } from 'vitest';
import { effectiveReactions, parseGithubConfig } from './config.ts';

describe('GitHub reactions file', () => {
  it('merges built-in defaults, the server file and the repo file per reaction and key', () => {
    const server = parseGithubConfig('review:\n  enabled: true\nci_fix:\n  max_rounds: 1\n').config!;
    const repo = parseGithubConfig('review:\n  on: [opened]\nlabel:\n  name: agent\n').config!;

    const reactions = effectiveReactions(server, repo);

    expect(reactions.review).toEqual({ enabled: true, on: ['opened'], blueprint: 'review' });
    expect(reactions.ci_fix).toEqual({ enabled: true, max_rounds: 1, blueprint: 'default' });
    expect(reactions.label).toEqual({ enabled: true, name: 'agent', blueprint: 'default' });
    expect(reactions.comment.command).toBe('/nightshift');
  });

  it('reports every problem with its dot-path, line and column', () => {
    const { config, errors } = parseGithubConfig(
      'comment:\n  command: nightshift\nci_fix:\n  max_rounds: 99\nreviw: {}\n',
    );

    expect(config).toBeUndefined();
    expect(errors).toEqual([
      expect.objectContaining({
        path: 'comment.command',
        line: 2,
        column: 12,
        message: expect.stringContaining('slash command'),
      }),
      expect.objectContaining({ path: 'ci_fix.max_rounds', line: 4, column: 15 }),
      expect.objectContaining({
        path: 'reviw',
        line: 5,
        message: expect.stringContaining('did you mean `review`'),
      }),
    ]);
  });

  it('reports YAML syntax errors with their line', () => {
    const { errors } = parseGithubConfig('comment: [\n');

    expect(errors[0]).toMatchObject({ line: expect.any(Number) });
  });
});
