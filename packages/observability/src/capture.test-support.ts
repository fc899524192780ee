/** A destination that keeps every JSON line written to it, parsed. For tests. */
export interface CapturedLines {
  /** Pass as a pino destination or a `jsonLinesSpanExporter` destination. */
  readonly stream: { write(chunk: string): void };
  /** Every complete line so far, parsed as JSON. */
  readonly lines: Record<string, unknown>[];
}

/** Captures the JSON lines a logger or exporter writes, as they are written (nothing to wait for). */
export function captureLines(): CapturedLines {
  const lines: Record<string, unknown>[] = [];
  let partial = '';
  return {
    lines,
    stream: {
      write(chunk: string) {
        partial += chunk;
        let nl = partial.indexOf('\n');
        while (nl >= 0) {
          lines.push(JSON.parse(partial.slice(0, nl)) as Record<string, unknown>);
          partial = partial.slice(nl + 1);
          nl = partial.indexOf('\n');
        }
      },
    },
  };
}
