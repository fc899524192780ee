import type { LoadProgress } from './load/load-run.js';

/** One line of progress for a load run, redrawn in place on a terminal. */
export function renderProgress(p: LoadProgress, width = 30): string {
  const share = Math.min(1, p.elapsedMs / p.durationMs);
  const filled = Math.round(share * width);
  const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
  return `${bar} ${String(Math.round(share * 100)).padStart(3)}%  ${(p.elapsedMs / 1000).toFixed(1)}s  started ${p.started}  done ${p.completed}  in flight ${p.inFlight}`;
}

/** Writes progress lines: in place on a TTY, every few seconds otherwise. */
export function progressWriter(stream: NodeJS.WriteStream): (p: LoadProgress) => void {
  let lastPlain = 0;
  return (p) => {
    if (stream.isTTY) {
      stream.write(`\r${renderProgress(p)}`);
    } else if (p.elapsedMs - lastPlain >= 5000 || p.completed === p.started) {
      lastPlain = p.elapsedMs;
      stream.write(`${renderProgress(p)}\n`);
    }
  };
}
