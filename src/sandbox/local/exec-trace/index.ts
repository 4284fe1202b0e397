/** Kernel-backed exec tracing of a local sandbox, from the host side (strace with seccomp-bpf). */
export { execTraceArgs, TRACED_SYSCALLS, type TraceCommandOptions } from './command.ts';
export { type ParseOptions, parseExecTrace } from './parse.ts';
