/**
 * A 200 whose body is NDJSON written as `run` produces it: one JSON line per `emit`, sent at
 * once, the body closed when `run` ends. The run is handed to `waitUntil`, so the request
 * stays alive until its last line is read. A reader that went away does not stop the run
 * (its work, audit rows included, goes on); its lines are dropped.
 */
export function ndjsonResponse<T>(
  contentType: string,
  waitUntil: (p: Promise<unknown>) => void,
  run: (emit: (line: T) => void) => Promise<void>,
): Response {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const encoder = new TextEncoder();
  const emit = (line: T) => {
    writer.write(encoder.encode(`${JSON.stringify(line)}\n`)).catch(() => {});
  };
  // A run that failed breaks the body rather than ending it cleanly with lines missing.
  const done = run(emit).then(
    () => writer.close(),
    (e: unknown) => writer.abort(e),
  );
  waitUntil(done.catch(() => {}));
  return new Response(readable, { status: 200, headers: { "content-type": contentType } });
}
