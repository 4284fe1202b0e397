import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** The dashboard: Preact with esbuild's JSX transform, built into web/dist. */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: false },
});
