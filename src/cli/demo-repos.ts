import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Sample repositories for `nightshift demo`: small, with a test command, no toolchain beyond sh. */
const SAMPLES: Record<string, Record<string, string>> = {
  greeter: {
    'README.md': '# greeter   \n\nPrints a greeting.  \n',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
    'greet.sh': '#!/bin/sh\necho "Hello, ${1:-world}!"\n',
    'test.sh': '#!/bin/sh\nset -e\n[ "$(sh greet.sh Ada)" = "Hello, Ada!" ]\necho "greeter: 1 test passed"\n',
    '.nightshift/environment.yml': 'setup:\n  - sh -n greet.sh\ntest: sh test.sh\n',
  },
  inventory: {
    'README.md': '# inventory \n\nStock levels, one CSV per warehouse.\n',
    'stock/north.csv': 'sku,count\nA-1,4\nB-2,0\n',
    'stock/south.csv': 'sku,count\nA-1,9\n',
    'check.sh':
      '#!/bin/sh\nset -e\nfor f in stock/*.csv; do head -1 "$f" | grep -qx "sku,count"; done\necho "inventory: csv headers ok"\n',
    '.nightshift/environment.yml': 'test: sh check.sh\n',
  },
  handbook: {
    'README.md': '# handbook\n\nHow we work.\n',
    'CONTRIBUTING.md': '# Contributing\n\nOpen a pull request.\n',
    'onboarding.md': '# Onboarding\n\nWelcome!\n',
  },
};

/** The demo's codemod: strip trailing spaces from Markdown files and make sure CONTRIBUTING.md exists. */
export const DEMO_SCRIPT = [
  '# Tidy Markdown: strip trailing spaces, add CONTRIBUTING.md',
  "find . -name '*.md' -not -path './.git/*' -exec sed -i 's/[[:space:]]*$//' {} +",
  '[ -f CONTRIBUTING.md ] || printf "# Contributing\\n\\nOpen a pull request.\\n" > CONTRIBUTING.md',
  "echo \"tidied $(find . -name '*.md' -not -path './.git/*' | wc -l) markdown files\"",
].join('\n');

/** Creates the sample repos under `dir` (once; existing ones are kept) and returns their paths. */
export function ensureDemoRepos(dir: string): string[] {
  return Object.entries(SAMPLES).map(([name, files]) => {
    const repo = join(dir, name);
    if (existsSync(join(repo, '.git'))) return repo;
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(repo, path)), { recursive: true });
      writeFileSync(join(repo, path), text);
    }
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, stdio: 'pipe' });
    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git(
      '-c',
      'user.name=Nightshift Demo',
      '-c',
      'user.email=demo@nightshift.invalid',
      'commit',
      '-qm',
      'Initial commit',
    );
    return repo;
  });
}
