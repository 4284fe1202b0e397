import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';
import { NightshiftError } from '../core/errors.ts';

/** Where `npm run build:web` puts the dashboard. */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
};

/** Paths that belong to the API: an unknown one is a 404, never the dashboard. */
const API_PREFIXES = ['/api/', '/webhooks/'];

/**
 * Serves the dashboard's static files from `dir` on every GET no other route answered:
 * hashed assets (`/assets/*`) cached for a year, anything else that is not a file gets
 * `index.html` (the dashboard routes in the browser). Paths never leave `dir`.
 */
// biome-ignore lint/suspicious/noExplicitAny: mounted on any app
export function dashboardRoutes(app: Hono<any>, dir = DASHBOARD_DIR): void {
  const root = resolve(dir);
  app.get('*', async (c, next) => {
    const path = c.req.path;
    if (API_PREFIXES.some((prefix) => path.startsWith(prefix))) return next();
    const file = await findFile(root, path);
    if (file) {
      const hashed = path.startsWith('/assets/');
      return c.body(new Uint8Array(await readFile(file)), 200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
        'x-content-type-options': 'nosniff',
      });
    }
    // A missing asset is a 404; any other path is a page of the dashboard.
    if (path.startsWith('/assets/') || extname(path) !== '') return next();
    const index = join(root, 'index.html');
    if (!(await isFile(index))) {
      throw new NightshiftError('NOT_FOUND', 'the dashboard is not built', {
        hint: 'run `npm run build:web` (scripts/setup.sh does it) and restart `nightshift serve`',
      });
    }
    return c.body(new Uint8Array(await readFile(index)), 200, {
      'content-type': TYPES['.html']!,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
  });
}

async function findFile(root: string, urlPath: string): Promise<string | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  // Dotfiles (the build's stamp) and NUL bytes are never served.
  if (decoded.includes('\0') || decoded.split('/').some((part) => part.startsWith('.'))) return null;
  const file = resolve(root, `.${normalize(`/${decoded}`)}`);
  if (file !== root && !file.startsWith(root + sep)) return null;
  return (await isFile(file)) ? file : null;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
