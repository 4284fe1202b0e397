/** Writes a line to stdout. */
export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Writes machine-readable output: one JSON document. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
