/**
 * Replication lag per slave: from the moment the workload sent a write to the master
 * until the slave's engine applied it.
 */

/** Percentiles of a set of lag samples, in milliseconds. */
export interface LagSummary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** The q-quantile (0-1) of sorted values, nearest rank. */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

function summarise(values: number[]): LagSummary {
  const sorted = values.sort((a, b) => a - b);
  return { count: sorted.length, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted[sorted.length - 1] ?? Number.NaN };
}

interface Sample {
  readonly at: number;
  readonly lagMs: number;
}

/** Lag samples of every slave: the whole run, and a recent window for the live view. */
export class LagTracker {
  readonly #all = new Map<string, number[]>();
  readonly #recent = new Map<string, Sample[]>();
  readonly #windowMs: number;

  constructor(windowMs = 5_000) {
    this.#windowMs = windowMs;
  }

  /** Adds one sample for `slave`, observed at epoch milliseconds `at`. */
  record(slave: string, lagMs: number, at: number): void {
    const all = this.#all.get(slave) ?? [];
    all.push(lagMs);
    this.#all.set(slave, all);
    const recent = this.#recent.get(slave) ?? [];
    recent.push({ at, lagMs });
    this.#recent.set(slave, recent);
  }

  /** Samples of the last window (5 s by default) ending at `now`. */
  recent(slave: string, now: number): LagSummary {
    const samples = (this.#recent.get(slave) ?? []).filter((sample) => sample.at >= now - this.#windowMs);
    this.#recent.set(slave, samples);
    return summarise(samples.map((sample) => sample.lagMs));
  }

  /** Every sample of the run. */
  overall(slave: string): LagSummary {
    return summarise([...(this.#all.get(slave) ?? [])]);
  }
}
