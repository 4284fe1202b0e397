/**
 * A GitHub double over HTTP on 127.0.0.1: the REST endpoints Nightshift calls (JSON shaped as
 * GitHub sends it, with the same auth rules: app JWTs signed with the app's key, installation
 * tokens it issued) and git smart HTTP (clone, fetch, push) served by `git http-backend` over
 * real bare repositories. Every request is recorded.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes, verify as verifySignature } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gitIn } from './repos.ts';

export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: unknown;
  status: number;
}

export interface PullRecord {
  number: number;
  title: string;
  body: string;
  head: string;
  base: string;
  state: 'open' | 'closed';
  merged: boolean;
  draft?: boolean;
  owner: string;
  repo: string;
}

/** A commit status as created through GitHub's Statuses API. */
export interface StatusRecord {
  context: string;
  state: 'success' | 'failure' | 'error' | 'pending';
}

export interface GithubDouble {
  /** REST base URL (`apiUrl` of the provider). */
  apiUrl: string;
  /** Git base URL (`gitUrl` of the provider): `<gitUrl>/OWNER/NAME.git`. */
  gitUrl: string;
  appId: string;
  installationId: number;
  /** The app's private key (PEM), as GitHub lets you download it. */
  privateKey: string;
  /** A plain token the double also accepts (like a personal access token). */
  plainToken: string;
  requests: RecordedRequest[];
  pulls: PullRecord[];
  comments: { owner: string; repo: string; number: number; body: string }[];
  reviews: { owner: string; repo: string; number: number; body: string; comments: unknown[] }[];
  /** Installation tokens issued so far. */
  issuedTokens: string[];
  /** `user` → permission (`admin`, `write`, `read`); others are not collaborators (404). */
  permissions: Map<string, string>;
  /** Creates `OWNER/NAME` as a bare repository holding the commits of the local repo at `source`. */
  addRepo(fullName: string, source: string): Promise<string>;
  /**
   * Registers `OWNER/NAME` (or updates it) with the metadata org listings show, without git
   * data: enough for `GET /orgs/OWNER/repos` and `GET /repos/OWNER/NAME`.
   */
  describeRepo(fullName: string, meta: { topics?: string[]; archived?: boolean }): void;
  /** Check runs by head commit sha, as `GET /repos/O/N/commits/SHA/check-runs` lists them (paginated). */
  checkRuns: Map<string, { name: string; status: string; conclusion: string | null }[]>;
  /**
   * Commit statuses by sha, in the order they were created; `GET /repos/O/N/commits/SHA/status`
   * (the combined status, paginated) shows the latest of each context.
   */
  statuses: Map<string, StatusRecord[]>;
  /**
   * Answers the next `times` REST requests of `method` whose path (without `/api`) matches
   * `path` with `status` and GitHub's error body, instead of handling them.
   */
  refuse(method: string, path: RegExp, status: number, message: string, times?: number): void;
  /** When set, `Link` headers of listings point at this origin instead (a hostile server). */
  linkOrigin: string | null;
  /** The bare repository of `OWNER/NAME`. */
  repoPath(fullName: string): string;
  close(): Promise<void>;
}

/** Starts the double with its repositories under `root` (a temp dir the caller removes). */
export async function startGithubServer(root: string): Promise<GithubDouble> {
  await mkdir(root, { recursive: true });
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const appId = '424242';
  const installationId = 31337;
  const tokens = new Map<string, number>();
  const repos = new Map<
    string,
    { fullName: string; defaultBranch: string; topics: string[]; archived: boolean }
  >();
  const requests: RecordedRequest[] = [];
  const pulls: PullRecord[] = [];
  const comments: GithubDouble['comments'] = [];
  const reviews: GithubDouble['reviews'] = [];
  const issuedTokens: string[] = [];
  const permissions = new Map<string, string>();
  const plainToken = `ghp_${randomBytes(12).toString('hex')}`;
  const faults: { method: string; path: RegExp; status: number; message: string; times: number }[] = [];
  const repoPath = (full: string) => join(root, `${full.toLowerCase()}.git`);

  const checkJwt = (authorization: string | undefined): boolean => {
    const jwt = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
    const [header, payload, signature] = jwt?.split('.') ?? [];
    if (!header || !payload || !signature) return false;
    const ok = verifySignature(
      'RSA-SHA256',
      Buffer.from(`${header}.${payload}`),
      publicKey,
      Buffer.from(signature, 'base64url'),
    );
    if (!ok) return false;
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as {
      iss?: string;
      exp?: number;
      iat?: number;
    };
    const now = Date.now() / 1000;
    return (
      String(claims.iss) === appId &&
      (claims.exp ?? 0) > now &&
      (claims.iat ?? now + 1) <= now + 60 &&
      (claims.exp ?? 0) - (claims.iat ?? 0) <= 600
    );
  };
  const tokenOf = (authorization: string | undefined): string | undefined => {
    const rest = /^(?:token|Bearer) (.+)$/.exec(authorization ?? '')?.[1];
    if (rest) return rest;
    const basic = /^Basic (.+)$/.exec(authorization ?? '')?.[1];
    return basic ? Buffer.from(basic, 'base64').toString().split(':')[1] : undefined;
  };
  const tokenOk = (authorization: string | undefined) => {
    const token = tokenOf(authorization);
    return token !== undefined && (token === plainToken || tokens.has(token));
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: String(error) }));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.startsWith('/git/')) return serveGit(req, res, url);
    const raw = await readBody(req);
    const body = raw.length ? (JSON.parse(raw.toString()) as Record<string, unknown>) : undefined;
    const record: RecordedRequest = {
      method: req.method ?? '',
      path: url.pathname + url.search,
      authorization: req.headers.authorization,
      body,
      status: 0,
    };
    requests.push(record);
    const send = (status: number, data: unknown) => {
      record.status = status;
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(data));
    };
    const path = url.pathname.replace(/^\/api/, '');
    const auth = req.headers.authorization;
    const fault = faults.find((f) => f.times > 0 && f.method === req.method && f.path.test(path));
    if (fault) {
      fault.times--;
      return send(fault.status, {
        message: fault.message,
        documentation_url: 'https://docs.github.com/rest',
      });
    }
    /** One page of `items` as GitHub pages a listing (`per_page`, `page`), with its `Link` header. */
    const paged = <T>(items: T[], defaultPerPage = 30): T[] => {
      const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get('per_page') ?? defaultPerPage)));
      const page = Math.max(1, Number(url.searchParams.get('page') ?? 1));
      const last = Math.max(1, Math.ceil(items.length / perPage));
      const origin = double.linkOrigin ?? `http://${req.headers.host}`;
      const link = (p: number, rel: string) => {
        const next = new URLSearchParams(url.searchParams);
        next.set('per_page', String(perPage));
        next.set('page', String(p));
        return `<${origin}${url.pathname}?${next}>; rel="${rel}"`;
      };
      const links = [
        ...(page < last ? [link(page + 1, 'next'), link(last, 'last')] : []),
        ...(page > 1 ? [link(1, 'first'), link(page - 1, 'prev')] : []),
      ];
      if (links.length) res.setHeader('link', links.join(', '));
      return items.slice((page - 1) * perPage, page * perPage);
    };

    let m = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(path);
    if (m && req.method === 'POST') {
      if (!checkJwt(auth)) return send(401, { message: 'A JSON web token could not be decoded' });
      if (Number(m[1]) !== installationId) return send(404, { message: 'Not Found' });
      const token = `ghs_${randomBytes(16).toString('hex')}`;
      tokens.set(token, installationId);
      issuedTokens.push(token);
      return send(201, {
        token,
        expires_at: new Date(Date.now() + 3600_000).toISOString(),
        permissions: { contents: 'write' },
      });
    }
    m = /^\/orgs\/([^/]+)\/installation$/.exec(path);
    if (m && req.method === 'GET') {
      if (!checkJwt(auth)) return send(401, { message: 'A JSON web token could not be decoded' });
      const org = m[1]!.toLowerCase();
      return [...repos.keys()].some((full) => full.startsWith(`${org}/`))
        ? send(200, { id: installationId, app_id: Number(appId), account: { login: m[1] } })
        : send(404, { message: 'Not Found' });
    }
    m = /^\/orgs\/([^/]+)\/repos$/.exec(path);
    if (m && req.method === 'GET') {
      if (!tokenOk(auth)) return send(401, { message: 'Bad credentials' });
      const org = m[1]!;
      const all = [...repos.values()]
        .filter((r) => r.fullName.toLowerCase().startsWith(`${org.toLowerCase()}/`))
        .sort((a, b) => a.fullName.localeCompare(b.fullName));
      if (all.length === 0) return send(404, { message: 'Not Found' });
      return send(
        200,
        paged(all).map((r, i) => {
          const [owner, name] = r.fullName.split('/');
          return {
            id: 1000 + i,
            name,
            full_name: r.fullName,
            owner: { login: owner, type: 'Organization' },
            private: true,
            html_url: `https://github.com/${r.fullName}`,
            archived: r.archived,
            disabled: false,
            fork: false,
            topics: r.topics,
            default_branch: r.defaultBranch,
          };
        }),
      );
    }
    m = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path);
    if (!m) return send(404, { message: 'Not Found' });
    const [owner, name, rest = ''] = [m[1]!, m[2]!, m[3]];
    const full = `${owner}/${name}`.toLowerCase();
    if (rest === '/installation' && req.method === 'GET') {
      if (!checkJwt(auth)) return send(401, { message: 'A JSON web token could not be decoded' });
      return repos.has(full)
        ? send(200, { id: installationId, app_id: Number(appId) })
        : send(404, { message: 'Not Found' });
    }
    if (!tokenOk(auth)) return send(401, { message: 'Bad credentials' });
    const repo = repos.get(full);
    if (!repo) return send(404, { message: 'Not Found' });
    const html = `https://github.com/${owner}/${name}`;
    const pullJson = (p: PullRecord) => ({
      number: p.number,
      html_url: `${html}/pull/${p.number}`,
      state: p.state,
      title: p.title,
      body: p.body,
      merged_at: p.merged ? new Date().toISOString() : null,
      draft: p.draft ?? false,
      head: { ref: p.head, sha: '', repo: { full_name: `${owner}/${name}` } },
      base: { ref: p.base },
    });
    const mine = (p: PullRecord) => `${p.owner}/${p.repo}`.toLowerCase() === full;

    if (rest === '' && req.method === 'GET') {
      return send(200, {
        full_name: `${owner}/${name}`,
        html_url: html,
        default_branch: repo.defaultBranch,
        private: true,
      });
    }
    m = /^\/commits\/([^/]+)\/check-runs$/.exec(rest);
    if (m && req.method === 'GET') {
      const sha = decodeURIComponent(m[1]!);
      const runs = (double.checkRuns.get(sha) ?? []).map((r, i) => ({ id: i + 1, head_sha: sha, ...r }));
      return send(200, { total_count: runs.length, check_runs: paged(runs) });
    }
    m = /^\/commits\/([^/]+)\/status$/.exec(rest);
    if (m && req.method === 'GET') {
      const sha = decodeURIComponent(m[1]!);
      const latest = new Map(
        (double.statuses.get(sha) ?? []).map((s, i) => [s.context, { id: i + 1, ...s }]),
      );
      const all = [...latest.values()];
      const states = all.map((s) => s.state);
      const state = states.some((s) => s === 'failure' || s === 'error')
        ? 'failure'
        : states.length === 0 || states.includes('pending')
          ? 'pending'
          : 'success';
      return send(200, {
        state,
        sha,
        total_count: all.length,
        statuses: paged(all).map((s) => ({
          ...s,
          description: `${s.context} ${s.state}`,
          target_url: `https://ci.example.com/${s.id}`,
          created_at: new Date().toISOString(),
          updated_at: new Date().toISOString(),
        })),
        repository: { full_name: `${owner}/${name}` },
      });
    }
    m = /^\/collaborators\/([^/]+)\/permission$/.exec(rest);
    if (m && req.method === 'GET') {
      const permission = permissions.get(decodeURIComponent(m[1]!));
      return permission
        ? send(200, { permission, user: { login: m[1] } })
        : send(404, { message: 'Not Found' });
    }
    if (rest === '/pulls' && req.method === 'GET') {
      const head = url.searchParams.get('head')?.split(':')[1];
      return send(
        200,
        pulls
          .filter((p) => mine(p) && (!head || p.head === head))
          .reverse()
          .map(pullJson),
      );
    }
    if (rest === '/pulls' && req.method === 'POST') {
      const input = body as { title?: string; body?: string; head?: string; base?: string; draft?: boolean };
      if (!input?.title || !input.head || !input.base) return send(422, { message: 'Validation Failed' });
      const exists = await gitIn(
        repoPath(full),
        'rev-parse',
        '--verify',
        '--quiet',
        `refs/heads/${input.head}`,
      ).catch(() => '');
      if (!exists)
        return send(422, { message: 'Validation Failed', errors: [{ field: 'head', code: 'invalid' }] });
      if (pulls.some((p) => mine(p) && p.head === input.head && p.state === 'open')) {
        return send(422, { message: `A pull request already exists for ${owner}:${input.head}.` });
      }
      const pull: PullRecord = {
        number: pulls.length + 1,
        title: input.title,
        body: input.body ?? '',
        head: input.head,
        base: input.base,
        state: 'open',
        merged: false,
        draft: input.draft === true,
        owner,
        repo: name,
      };
      pulls.push(pull);
      return send(201, pullJson(pull));
    }
    m = /^\/pulls\/(\d+)$/.exec(rest);
    const pull = m ? pulls.find((p) => mine(p) && p.number === Number(m![1])) : undefined;
    if (m && !pull) return send(404, { message: 'Not Found' });
    if (pull && req.method === 'GET') return send(200, pullJson(pull));
    if (pull && req.method === 'PATCH') {
      const input = body as { title?: string; body?: string };
      if (input.title !== undefined) pull.title = input.title;
      if (input.body !== undefined) pull.body = input.body;
      return send(200, pullJson(pull));
    }
    m = /^\/issues\/(\d+)\/comments$/.exec(rest);
    if (m && req.method === 'POST') {
      const text = (body as { body?: string })?.body;
      if (!text) return send(422, { message: 'Validation Failed' });
      comments.push({ owner, repo: name, number: Number(m[1]), body: text });
      return send(201, {
        id: comments.length,
        html_url: `${html}/issues/${m[1]}#issuecomment-${comments.length}`,
        body: text,
      });
    }
    m = /^\/pulls\/(\d+)\/reviews$/.exec(rest);
    if (m && req.method === 'POST') {
      const input = body as { body?: string; event?: string; comments?: unknown[] };
      if (input.event !== 'COMMENT' || !input.body) return send(422, { message: 'Validation Failed' });
      reviews.push({
        owner,
        repo: name,
        number: Number(m[1]),
        body: input.body,
        comments: input.comments ?? [],
      });
      return send(200, { id: reviews.length, state: 'COMMENTED' });
    }
    return send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
  }

  /** Smart HTTP through `git http-backend` (CGI), for holders of a valid token only. */
  async function serveGit(req: IncomingMessage, res: ServerResponse, url: URL) {
    const pathInfo = url.pathname.slice('/git'.length);
    const record: RecordedRequest = {
      method: req.method ?? '',
      path: url.pathname + url.search,
      authorization: req.headers.authorization,
      body: undefined,
      status: 0,
    };
    requests.push(record);
    if (!tokenOk(req.headers.authorization)) {
      record.status = 401;
      res.writeHead(401, { 'www-authenticate': 'Basic realm="GitHub"' });
      res.end('Unauthorized');
      return;
    }
    const child = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        PATH_INFO: pathInfo.toLowerCase().replace(/\.git\//, '.git/'),
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_USER: 'x-access-token',
        REMOTE_ADDR: '127.0.0.1',
        ...(req.headers['content-encoding']
          ? { HTTP_CONTENT_ENCODING: String(req.headers['content-encoding']) }
          : {}),
        ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    req.pipe(child.stdin);
    child.stdin.on('error', () => {});
    const chunks: Buffer[] = [];
    let headerDone = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (headerDone) {
        res.write(chunk);
        return;
      }
      chunks.push(chunk);
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) return;
      headerDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of all.subarray(0, end).toString().split('\r\n')) {
        const i = line.indexOf(':');
        const key = line.slice(0, i).trim();
        const value = line.slice(i + 1).trim();
        if (key.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else headers[key] = value;
      }
      record.status = status;
      res.writeHead(status, headers);
      res.write(all.subarray(end + 4));
    });
    await new Promise<void>((resolve) => child.on('close', () => resolve()));
    if (!headerDone) {
      record.status = 500;
      res.writeHead(500);
    }
    res.end();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const double: GithubDouble = {
    apiUrl: `http://127.0.0.1:${port}/api`,
    gitUrl: `http://127.0.0.1:${port}/git`,
    appId,
    installationId,
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    plainToken,
    requests,
    pulls,
    comments,
    reviews,
    issuedTokens,
    permissions,
    repoPath,
    linkOrigin: null,
    checkRuns: new Map(),
    statuses: new Map(),
    refuse(method, path, status, message, times = 1) {
      faults.push({ method, path, status, message, times });
    },
    async addRepo(fullName, source) {
      const path = repoPath(fullName);
      await gitIn(root, 'clone', '--quiet', '--bare', source, path);
      const head = await gitIn(path, 'symbolic-ref', '--short', 'HEAD');
      const known = repos.get(fullName.toLowerCase());
      repos.set(fullName.toLowerCase(), {
        fullName,
        defaultBranch: head,
        topics: known?.topics ?? [],
        archived: known?.archived ?? false,
      });
      return path;
    },
    describeRepo(fullName, meta) {
      const known = repos.get(fullName.toLowerCase());
      repos.set(fullName.toLowerCase(), {
        fullName,
        defaultBranch: known?.defaultBranch ?? 'main',
        topics: meta.topics ?? known?.topics ?? [],
        archived: meta.archived ?? known?.archived ?? false,
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return double;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
