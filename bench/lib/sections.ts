/**
 * Runs benchmarks one after another so that one failing never takes the others down: a
 * benchmark that throws, or that leaves a promise rejecting in the background (a fetch cut
 * by a dev server that restarted: undici's "terminated"), is reported with its reason and
 * the run goes on to the next. The caller sets the exit code from the result.
 */
export interface SectionResult {
  name: string;
  ok: boolean;
  /** Why it failed: the error's message and, when it has one, its cause. */
  reason?: string;
}

export function describeFailure(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = e.cause instanceof Error ? ` (cause: ${e.cause.message})` : e.cause !== undefined ? ` (cause: ${String(e.cause)})` : "";
  return `${e.message}${cause}`;
}

export async function runSection(
  name: string,
  body: () => Promise<void>,
  report: (line: string) => void = (line) => console.error(line),
): Promise<SectionResult> {
  let escaped: ((e: unknown) => void) | undefined;
  // A rejection nobody awaited belongs to the benchmark that is running: it fails that one.
  const stray = new Promise<never>((_, reject) => {
    escaped = reject;
  });
  const onStray = (e: unknown) => escaped?.(e);
  process.on("unhandledRejection", onStray);
  process.on("uncaughtException", onStray);
  try {
    await Promise.race([body(), stray]);
    return { name, ok: true };
  } catch (e) {
    const reason = describeFailure(e);
    report(`\nFAILED ${name}: ${reason}`);
    return { name, ok: false, reason };
  } finally {
    process.off("unhandledRejection", onStray);
    process.off("uncaughtException", onStray);
  }
}

/** One line per benchmark at the end of the run; true when all passed. */
export function summarise(results: SectionResult[], print: (line: string) => void = console.log): boolean {
  print("\n## Summary\n");
  for (const r of results) print(r.ok ? `ok      ${r.name}` : `FAILED  ${r.name}: ${r.reason}`);
  return results.every((r) => r.ok);
}
