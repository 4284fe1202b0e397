#!/usr/bin/env node
// In a checkout (src/ is there) runs the TypeScript sources through tsx, so an edit takes effect
// at once even when a dist/ was built; an installed package ships dist/ and no sources, and runs
// the compiled CLI. To try a build from a checkout: `npm run build && node dist/cli/main.js`.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src', 'cli', 'main.ts');
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(source).href);
} else {
  await import(pathToFileURL(join(root, 'dist', 'cli', 'main.js')).href);
}
