/** Kernel-backed exec tracing of a sandbox, from the host side (strace with seccomp-bpf). */

export { execAuditEntries } from './audit.ts';
export { execTraceArgs, TRACED_SYSCALLS, type TraceCommandOptions } from './command.ts';
export {
  type ExecRecord,
  type ExecTrace,
  type ParseOptions,
  parseExecTrace,
  type RefusedExec,
} from './parse.ts';
