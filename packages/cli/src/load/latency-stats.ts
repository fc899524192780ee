/** Latency percentiles of a run, in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly min: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/**
 * Collects latencies and answers percentiles (nearest rank). Every sample is
 * kept: a bounded run of `rate × duration` samples is small, and exact
 * percentiles need no histogram tuning.
 */
export class LatencyStats {
  private readonly samples: number[] = [];
  private sorted = true;

  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0)
      throw new RangeError(`latency must be a finite non-negative number, got ${ms}`);
    const last = this.samples[this.samples.length - 1];
    if (last !== undefined && ms < last) this.sorted = false;
    this.samples.push(ms);
  }

  get count(): number {
    return this.samples.length;
  }

  /** The value at percentile `p` (0–100), nearest rank; NaN when empty. */
  percentile(p: number): number {
    if (this.samples.length === 0) return Number.NaN;
    this.sort();
    const rank = Math.ceil((p / 100) * this.samples.length);
    return this.samples[Math.min(this.samples.length - 1, Math.max(0, rank - 1))] as number;
  }

  summary(): LatencySummary {
    this.sort();
    const n = this.samples.length;
    const sum = this.samples.reduce((a, b) => a + b, 0);
    return {
      count: n,
      min: n ? (this.samples[0] as number) : Number.NaN,
      p50: this.percentile(50),
      p95: this.percentile(95),
      p99: this.percentile(99),
      max: n ? (this.samples[n - 1] as number) : Number.NaN,
      mean: n ? sum / n : Number.NaN,
    };
  }

  private sort(): void {
    if (!this.sorted) {
      this.samples.sort((a, b) => a - b);
      this.sorted = true;
    }
  }
}
