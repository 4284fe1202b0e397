import { describe, expect, it } from 'vitest';
import { NightshiftError } from '../core/errors.ts';
import { checkTemplate, renderTemplate, runTemplateVars, type TemplateVars } from './template.ts';

const vars: TemplateVars = {
  prompt: '\n  Fix the login bug  \nDetails follow.',
  script: '# Tidy the docs\nsed -i s/a/b/ *.md',
  repo: { name: 'web', url: '/srv/web' },
  run: { id: 'run_1', branch: 'nightshift/run_1' },
  inputs: { ticket: 'ABC-1' },
  gate: { command: 'npm test', output: '1 failed', round: 2 },
  environment: { setup: 'npm ci', test: '' },
};

describe('renderTemplate', () => {
  it.each([
    ['plain text', 'echo hi', 'echo hi'],
    ['a variable', '{{repo.name}}', 'web'],
    ['spaces inside braces', '{{ run.branch }}', 'nightshift/run_1'],
    ['an input', 'ticket {{inputs.ticket}}', 'ticket ABC-1'],
    ['a number', 'round {{gate.round}}', 'round 2'],
    ['an empty value', '[{{environment.test}}]', '[]'],
    ['the firstline filter', '{{ prompt | firstline }}', 'Fix the login bug'],
    ['the firstline filter on a comment', '{{ script | firstline }}', 'Tidy the docs'],
    ['the trim filter', '{{prompt|trim}}', 'Fix the login bug  \nDetails follow.'],
    ['several expressions', '{{repo.name}}@{{run.id}}', 'web@run_1'],
    ['values raw, without escaping', 'echo {{inputs.q}}', 'echo $(whoami) "x"'],
  ])('renders %s', (_case, template, expected) => {
    const rendered = renderTemplate(template, { ...vars, inputs: { ...vars.inputs, q: '$(whoami) "x"' } });

    expect(rendered).toBe(expected);
  });

  it('throws INVALID_INPUT naming the missing variable and listing the available ones', () => {
    const render = () =>
      renderTemplate('{{ script }}', { prompt: 'p', repo: { name: 'web', url: '/srv/web' } });

    expect(render).toThrow(NightshiftError);
    expect(render).toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringContaining('`script`') }),
    );
    expect(render).toThrow(
      expect.objectContaining({ hint: 'available variables: prompt, repo.name, repo.url' }),
    );
  });

  it('throws for a missing input key', () => {
    expect(() => renderTemplate('{{inputs.nope}}', vars)).toThrow(/`inputs.nope` is not set/);
  });
});

describe('checkTemplate', () => {
  it.each([
    ['{{prompt}} {{script}} {{repo.url}} {{inputs.any-key}} {{environment.setup | trim}}', []],
    [
      '{{promt}}',
      [
        'unknown template variable `promt` in `{{promt}}` (did you mean `prompt`?); known: prompt, script, repo, run, inputs, gate, environment',
      ],
    ],
    ['{{repo.nam}}', ['unknown template variable `repo.nam` (did you mean `name`?); `repo` has name, url']],
    ['{{prompt.text}}', ['`prompt` is text and has no `text` in `{{prompt.text}}`; write `{{prompt}}`']],
    ['{{inputs}}', ['`{{inputs}}` needs one field of `inputs`: inputs.<key>']],
    ['{{prompt | upper}}', ['unknown filter `upper`; filters: firstline, trim']],
    ['{{ a b }}', ['`{{ a b }}` is not a valid template: write `{{ name }}` or `{{ name | filter }}`']],
  ])('checks %s', (template, errors) => {
    expect(checkTemplate(template).errors).toEqual(errors);
  });

  it('warns about gate variables except in a fix prompt', () => {
    expect(checkTemplate('{{gate.output}}').warnings).toHaveLength(1);
    expect(checkTemplate('{{gate.output}}', { allowGate: true }).warnings).toEqual([]);
  });
});

describe('runTemplateVars', () => {
  it('takes the inputs, repo, branch and environment of a run', () => {
    const result = runTemplateVars({
      run: { id: 'run_9', branch: null, inputs: { prompt: 'Do it', values: { team: 'core' } } },
      repo: { name: 'api', url: 'https://example.test/api.git' },
      environment: { setup: 'make deps', test: 'make test' },
    });

    expect(
      renderTemplate('{{prompt}} {{inputs.team}} {{repo.name}} {{run.id}} {{environment.test}}', result),
    ).toBe('Do it core api run_9 make test');
    expect(() => renderTemplate('{{run.branch}}', result)).toThrow(/`run.branch` is not set/);
  });
});
