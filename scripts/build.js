#!/usr/bin/env node
// Compiles src/ into dist/ (or the directory given) and copies beside the compiled modules the
// files they load from their own folder: every file under src/ that is not TypeScript
// (src/sandbox/local/launch.sh, src/process/helper.mjs, ...). tsc alone copies none of them.
// Usage: node scripts/build.js [OUT_DIR]
import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const out = resolve(process.argv[2] ?? join(root, 'dist'));
if (!relative(out, root).startsWith('..')) {
  console.error(`error: ${out} holds the sources; give an output directory of its own, e.g. dist`);
  process.exit(2);
}

// A fresh directory, so a module deleted from src/ does not live on in the package.
rmSync(out, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const args = [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', out];
const compiled = spawnSync(process.execPath, args, { stdio: 'inherit' });
if (compiled.status !== 0) process.exit(compiled.status ?? 1);

for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || entry.name.endsWith('.ts')) continue;
  const file = join(entry.parentPath, entry.name);
  cpSync(file, join(out, relative(src, file)));
}
