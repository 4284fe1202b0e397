import { constants, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { access, mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { processAlive, startTimeOf } from '../../process/index.ts';
import type { SandboxLimits } from '../types.ts';

/** How the kernel enforces a sandbox's limits: a cgroup per sandbox, or per-process rlimits as a fallback. */
export type LimitsEnforcement = 'cgroup-v1' | 'cgroup-v2' | 'rlimit';

/**
 * Where this process may create sandbox cgroups: `<hierarchy mount><own cgroup>/nightshift`.
 * v1 needs both the memory and the pids hierarchy; v2 needs a writable subtree with both controllers.
 */
export type CgroupHost =
  | { kind: 'cgroup-v1'; memory: string; pids: string; cpu?: string }
  | { kind: 'cgroup-v2'; root: string; cpu: boolean }
  | { kind: 'rlimit'; reason: string };

interface Mount {
  root: string;
  point: string;
  fstype: string;
  superOptions: string[];
}

function unescapeMount(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** Parses /proc/self/mountinfo into the cgroup mounts it lists. */
export function parseCgroupMounts(mountinfo: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const fields = left.split(' ');
    const [fstype, , superOptions = ''] = right.split(' ');
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    mounts.push({
      root: unescapeMount(fields[3] ?? '/'),
      point: unescapeMount(fields[4] ?? ''),
      fstype,
      superOptions: superOptions.split(','),
    });
  }
  return mounts;
}

/** Parses /proc/self/cgroup into controller name (`''` for the v2 hierarchy) → cgroup path. */
export function parseOwnCgroups(text: string): Map<string, string> {
  const paths = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!match) continue;
    const [, , controllers = '', path = '/'] = match;
    if (controllers === '') paths.set('', path);
    for (const name of controllers.split(',')) if (name) paths.set(name.replace(/^name=/, ''), path);
  }
  return paths;
}

function dirInMount(mount: Mount, ownPath: string): string | undefined {
  if (mount.root === '/') return join(mount.point, ownPath);
  if (ownPath === mount.root || ownPath.startsWith(`${mount.root}/`)) {
    return join(mount.point, ownPath.slice(mount.root.length));
  }
  return undefined;
}

async function writable(dir: string): Promise<boolean> {
  try {
    await access(dir, constants.W_OK);
    await mkdir(join(dir, 'nightshift'), { recursive: true });
    return true;
  } catch {
    return false;
  }
}

async function enableControllers(dir: string): Promise<boolean> {
  try {
    const enabled = (await readFile(join(dir, 'cgroup.subtree_control'), 'utf8')).split(/\s+/);
    if (enabled.includes('memory') && enabled.includes('pids')) return true;
    await writeFile(join(dir, 'cgroup.subtree_control'), '+memory +pids');
    return true;
  } catch {
    return false;
  }
}

/** Enables the optional cpu controller down the subtree; false when it is not available. */
async function enableCpu(dirs: string[]): Promise<boolean> {
  try {
    for (const dir of dirs) {
      const enabled = (await readFile(join(dir, 'cgroup.subtree_control'), 'utf8')).split(/\s+/);
      if (!enabled.includes('cpu')) await writeFile(join(dir, 'cgroup.subtree_control'), '+cpu');
    }
    return true;
  } catch {
    return false;
  }
}

async function detectV2(mounts: Mount[], own: Map<string, string>): Promise<CgroupHost | undefined> {
  const mount = mounts.find((m) => m.fstype === 'cgroup2');
  const ownPath = own.get('');
  if (!mount || ownPath === undefined) return undefined;
  const dir = dirInMount(mount, ownPath);
  if (!dir) return undefined;
  try {
    const controllers = (await readFile(join(dir, 'cgroup.controllers'), 'utf8')).split(/\s+/);
    if (!controllers.includes('memory') || !controllers.includes('pids')) return undefined;
  } catch {
    return undefined;
  }
  if (!(await writable(dir))) return undefined;
  const root = join(dir, 'nightshift');
  if (!(await enableControllers(dir)) || !(await enableControllers(root))) {
    await rmdir(root).catch(() => {});
    return undefined;
  }
  const cpu = await enableCpu([dir, root]);
  return { kind: 'cgroup-v2', root, cpu };
}

async function detectV1(mounts: Mount[], own: Map<string, string>): Promise<CgroupHost | undefined> {
  const dirs: string[] = [];
  for (const controller of ['memory', 'pids']) {
    const mount = mounts.find((m) => m.fstype === 'cgroup' && m.superOptions.includes(controller));
    const ownPath = own.get(controller);
    const dir = mount && ownPath !== undefined ? dirInMount(mount, ownPath) : undefined;
    if (!dir || !(await writable(dir))) return undefined;
    dirs.push(join(dir, 'nightshift'));
  }
  const cpuMount = mounts.find((m) => m.fstype === 'cgroup' && m.superOptions.includes('cpu'));
  const cpuOwn = own.get('cpu');
  const cpuDir = cpuMount && cpuOwn !== undefined ? dirInMount(cpuMount, cpuOwn) : undefined;
  const cpu = cpuDir && (await writable(cpuDir)) ? join(cpuDir, 'nightshift') : undefined;
  return { kind: 'cgroup-v1', memory: dirs[0]!, pids: dirs[1]!, ...(cpu ? { cpu } : {}) };
}

/** Finds where this process may create cgroups for sandboxes; `rlimit` (with the reason) when nowhere. */
export async function detectCgroupHost(): Promise<CgroupHost> {
  const [mountinfo, ownText] = await Promise.all([
    readFile('/proc/self/mountinfo', 'utf8'),
    readFile('/proc/self/cgroup', 'utf8'),
  ]);
  const mounts = parseCgroupMounts(mountinfo);
  const own = parseOwnCgroups(ownText);
  const found = (await detectV2(mounts, own)) ?? (await detectV1(mounts, own));
  return (
    found ?? {
      kind: 'rlimit',
      reason: 'no writable cgroup with the memory and pids controllers (cgroup v2 needs a delegated subtree)',
    }
  );
}

/** One cgroup per sandbox (one directory per hierarchy) holding the limits, with a child per exec. */
export interface SandboxCgroup {
  kind: 'cgroup-v1' | 'cgroup-v2';
  /** v1: [memory dir, pids dir, cpu dir when limited]; v2: [dir]. */
  dirs: string[];
  /** False when `limits.cpu` was asked for but no cpu controller is available. */
  cpuLimited: boolean;
}

/** This process's part of its sandboxes' cgroup names (`PID-STARTTIME`), read once. */
let ownerTag: string | undefined;

/**
 * The name of sandbox `id`'s cgroup: the id, then the pid and start time of the process making
 * it, so that a later process can tell the cgroups of one that died (see `sweepOrphanCgroups`).
 */
export function sandboxCgroupName(id: string): string {
  ownerTag ??= `${process.pid}-${startTimeOf(process.pid) ?? 0}`;
  return `${id}.${ownerTag}`;
}

const OWNED_NAME = /^sbx_[0-9a-z]+\.(\d+)-(\d+)$/;

/**
 * Kills whatever is left in, and removes, the sandbox cgroups made by processes that are gone
 * (an engine killed before it destroyed its sandboxes); the cgroups of live processes, and
 * names it did not make, are left alone. Returns how many sandboxes' cgroups it removed.
 */
export async function sweepOrphanCgroups(host: Exclude<CgroupHost, { kind: 'rlimit' }>): Promise<number> {
  const roots =
    host.kind === 'cgroup-v2' ? [host.root] : [host.memory, host.pids, ...(host.cpu ? [host.cpu] : [])];
  const swept = new Set<string>();
  for (const root of roots) {
    let names: string[];
    try {
      names = await readdir(root);
    } catch {
      continue;
    }
    for (const name of names) {
      const owner = OWNED_NAME.exec(name);
      if (!owner || processAlive(Number(owner[1]), owner[2]!)) continue;
      await killCgroup(host.kind, join(root, name));
      try {
        await removeCgroup(join(root, name));
        swept.add(name);
      } catch {}
    }
  }
  return swept.size;
}

/** The CFS period the cpu limit uses (100 ms, the kernel default). */
const CPU_PERIOD_US = 100_000;

function cpuQuota(cores: number): number {
  return Math.max(1000, Math.round(cores * CPU_PERIOD_US));
}

/*
 * The cgroup operations of every sandbox and exec below call the file system synchronously: a
 * cgroup file is kernel memory, answered at once, and a synchronous call costs a tenth of the
 * CPU of its promise (which goes through libuv's thread pool), several times a run.
 */

/** Writes a control file the kernel may not have (swap accounting off). */
function writeIfThere(file: string, value: string): void {
  try {
    writeFileSync(file, value);
  } catch {}
}

/** Creates the sandbox's cgroup and writes its limits. */
export async function createSandboxCgroup(
  host: Exclude<CgroupHost, { kind: 'rlimit' }>,
  name: string,
  limits: SandboxLimits,
): Promise<SandboxCgroup> {
  if (host.kind === 'cgroup-v2') {
    const dir = join(host.root, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'cgroup.subtree_control'), '+memory +pids');
    if (limits.memoryBytes !== undefined) {
      writeFileSync(join(dir, 'memory.max'), String(limits.memoryBytes));
      writeIfThere(join(dir, 'memory.swap.max'), '0');
    }
    if (limits.pids !== undefined) writeFileSync(join(dir, 'pids.max'), String(limits.pids));
    if (limits.cpu !== undefined && host.cpu) {
      writeFileSync(join(dir, 'cpu.max'), `${cpuQuota(limits.cpu)} ${CPU_PERIOD_US}`);
    }
    return { kind: host.kind, dirs: [dir], cpuLimited: limits.cpu === undefined || host.cpu };
  }
  const memory = join(host.memory, name);
  const pids = join(host.pids, name);
  mkdirSync(memory);
  mkdirSync(pids);
  if (limits.memoryBytes !== undefined) {
    writeFileSync(join(memory, 'memory.limit_in_bytes'), String(limits.memoryBytes));
    // Without swap accounting the file is absent and RAM is the only limit.
    writeIfThere(join(memory, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
  }
  if (limits.pids !== undefined) writeFileSync(join(pids, 'pids.max'), String(limits.pids));
  const dirs = [memory, pids];
  if (limits.cpu !== undefined && host.cpu) {
    const cpu = join(host.cpu, name);
    mkdirSync(cpu);
    writeFileSync(join(cpu, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
    writeFileSync(join(cpu, 'cpu.cfs_quota_us'), String(cpuQuota(limits.cpu)));
    dirs.push(cpu);
  }
  return { kind: host.kind, dirs, cpuLimited: limits.cpu === undefined || host.cpu !== undefined };
}

/** Creates the child cgroup of one exec; returns its directories (the launcher joins each `cgroup.procs`). */
export async function createExecCgroup(sandbox: SandboxCgroup, name: string): Promise<string[]> {
  const dirs = sandbox.dirs.map((dir) => join(dir, name));
  for (const dir of dirs) mkdirSync(dir);
  return dirs;
}

function pidsIn(dir: string): number[] {
  const pids: number[] = [];
  try {
    for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) {
      if (line) pids.push(Number(line));
    }
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) pids.push(...pidsIn(join(dir, entry.name)));
    }
  } catch {}
  return pids;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** SIGKILLs every process in the cgroup and its children, returning once none is left (or after ~2 s). */
export async function killCgroup(kind: SandboxCgroup['kind'], dir: string): Promise<void> {
  if (kind === 'cgroup-v2') {
    try {
      writeFileSync(join(dir, 'cgroup.kill'), '1');
    } catch {}
  }
  for (let round = 0; round < 200; round++) {
    const pids = pidsIn(dir);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    await sleep(10);
  }
}

/** How many processes the kernel OOM-killed in this cgroup (v1 `memory.oom_control`, v2 `memory.events`). */
export async function oomKills(kind: SandboxCgroup['kind'], memoryDir: string): Promise<number> {
  const file = kind === 'cgroup-v2' ? 'memory.events' : 'memory.oom_control';
  try {
    const match = /^oom_kill (\d+)$/m.exec(readFileSync(join(memoryDir, file), 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** Removes a cgroup and its children; processes must be gone (retries while the kernel reaps them). */
export async function removeCgroup(dir: string): Promise<void> {
  let entries: string[] = [];
  try {
    entries = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return;
  }
  for (const entry of entries) await removeCgroup(join(dir, entry));
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      rmdirSync(dir);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || attempt === 99) throw error;
      await sleep(10);
    }
  }
}
