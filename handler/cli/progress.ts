/** Where progress goes: standard error, or a fake in tests. */
export interface ProgressOutput {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

export interface ProgressOptions {
  readonly output: ProgressOutput;
  /** What is counted, e.g. `copied`. */
  readonly verb: string;
  /** Items expected in all, from DescribeTable's estimate; 0 when unknown. */
  readonly expected: number;
  /** Items already done by an earlier run: in the percentage, not in the rate. */
  readonly alreadyDone?: number;
  /** Milliseconds between plain lines when the output is not a terminal. */
  readonly lineIntervalMs?: number;
  readonly now?: () => number;
}

const BAR_WIDTH = 24;
const REDRAW_MS = 250;

/**
 * Progress of a long run on standard error: a bar redrawn in place on a terminal; a plain line every
 * `lineIntervalMs` otherwise, so a CI log or `nohup` file stays readable. Items/s is the average since the start;
 * the ETA divides what is left of DynamoDB's item count estimate by it.
 */
export class Progress {
  private done: number;
  private readonly startedAt: number;
  private lastDrawnAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  public constructor(private readonly options: ProgressOptions) {
    this.now = options.now ?? Date.now;
    this.done = options.alreadyDone ?? 0;
    this.startedAt = this.now();
  }

  /** Starts the periodic output. */
  public start(): void {
    const interval = this.options.output.isTTY === true ? REDRAW_MS : (this.options.lineIntervalMs ?? 10_000);
    this.timer = setInterval(() => this.draw(), interval);
    this.timer.unref();
  }

  /** Counts items as done. */
  public add(count: number): void {
    this.done += count;
  }

  /** Stops the periodic output and leaves the terminal on a new line. */
  public stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.options.output.isTTY === true && this.lastDrawnAt > 0) {
      this.draw();
      this.options.output.write('\n');
    }
  }

  /** The current line, without terminal control characters. */
  public line(): string {
    const elapsedSeconds = Math.max(0.001, (this.now() - this.startedAt) / 1000);
    const rate = (this.done - (this.options.alreadyDone ?? 0)) / elapsedSeconds;
    const { expected } = this.options;
    const parts: string[] = [];
    if (expected > 0 && this.done <= expected) {
      const fraction = this.done / expected;
      const filled = Math.round(fraction * BAR_WIDTH);
      parts.push(`[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${(fraction * 100).toFixed(1)}%`);
      parts.push(`${this.done.toLocaleString('en-US')}/~${expected.toLocaleString('en-US')} items ${this.options.verb}`);
    } else {
      parts.push(`${this.done.toLocaleString('en-US')} items ${this.options.verb}`);
    }
    parts.push(`${Math.round(rate).toLocaleString('en-US')} items/s`);
    if (expected > this.done && rate > 0) parts.push(`ETA ${formatDuration(((expected - this.done) / rate) * 1000)}`);
    parts.push(`elapsed ${formatDuration(elapsedSeconds * 1000)}`);
    return parts.join('  ');
  }

  private draw(): void {
    this.lastDrawnAt = this.now();
    if (this.options.output.isTTY === true) this.options.output.write(`\r\x1b[K${this.line()}`);
    else this.options.output.write(`${this.line()}\n`);
  }
}

/** `1h02m`, `3m05s` or `42s`. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}
