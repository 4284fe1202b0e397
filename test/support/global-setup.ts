/** Vitest global setup: starts shared services the suite needs (filled in by the store tests). */
export default async function setup(): Promise<() => Promise<void>> {
  return async () => {};
}
