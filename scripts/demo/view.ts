/**
 * The demo's terminal output: a block refreshed in place on a terminal (plain ANSI), or
 * one line per period when the output is a log (CI).
 */
import type { LagSummary } from './lag';

/** What one refresh shows. */
export interface ViewSnapshot {
  readonly elapsedSeconds: number;
  readonly phase: string;
  readonly masterWrites: number;
  readonly masterWritesPerSecond: number;
  /** Stream records acknowledged by the function. */
  readonly replicated: number;
  readonly recordsPerSecond: number;
  /** Master changes not yet acknowledged. */
  readonly backlog: number;
  readonly batches: number;
  /** Batches re-delivered after a reported or thrown failure. */
  readonly redeliveries: number;
  readonly slaves: readonly SlaveView[];
}

/** One slave's line. */
export interface SlaveView {
  readonly name: string;
  readonly where: string;
  readonly applied: number;
  readonly lag: LagSummary;
  /** Faults the proxy injected in front of this slave. */
  readonly faults: number;
  readonly faulty: boolean;
}

const ESC = '\u001b[';
const BOLD = `${ESC}1m`;
const DIM = `${ESC}2m`;
const RESET = `${ESC}0m`;
const CLEAR_LINE = `${ESC}2K`;

/** Milliseconds as `123 ms` / `4.5 s`, or a dash when there is no sample. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  return ms < 10_000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

function padLeft(text: string, width: number): string {
  return text.length >= width ? text : ' '.repeat(width - text.length) + text;
}

/** The block shown on a terminal. */
export function renderBlock(snapshot: ViewSnapshot, colour: boolean): string[] {
  const b = colour ? BOLD : '';
  const d = colour ? DIM : '';
  const r = colour ? RESET : '';
  const lines = [
    `${b}dynamo-replicator demo${r}  ${d}${snapshot.phase}, ${snapshot.elapsedSeconds.toFixed(0)} s${r}`,
    `  master writes  ${padLeft(String(snapshot.masterWrites), 8)}  ${padLeft(snapshot.masterWritesPerSecond.toFixed(0), 6)}/s`,
    `  replicated     ${padLeft(String(snapshot.replicated), 8)}  ${padLeft(snapshot.recordsPerSecond.toFixed(0), 6)} records/s`,
    `  backlog        ${padLeft(String(snapshot.backlog), 8)}  records`,
    `  batches        ${padLeft(String(snapshot.batches), 8)}  ${snapshot.redeliveries} re-delivered (retries)`,
    '',
    `  ${pad('slave', 6)} ${pad('where', 38)} ${padLeft('applied', 8)} ${padLeft('lag p50', 9)} ${padLeft('lag p99', 9)} ${padLeft('faults', 7)}`,
  ];
  for (const slave of snapshot.slaves) {
    lines.push(
      `  ${pad(slave.name, 6)} ${pad(slave.where, 38)} ${padLeft(String(slave.applied), 8)} ${padLeft(formatMs(slave.lag.p50), 9)} ${padLeft(formatMs(slave.lag.p99), 9)} ${padLeft(String(slave.faults), 7)}${slave.faulty ? '  (throttled)' : ''}`,
    );
  }
  lines.push(`  ${d}lag: last 5 s, from the master write to the slave's engine applying it; Ctrl-C stops${r}`);
  return lines;
}

/** One plain line for logs. */
export function renderLine(snapshot: ViewSnapshot): string {
  const slaves = snapshot.slaves
    .map((slave) => `${slave.name}=${formatMs(slave.lag.p50)}/${formatMs(slave.lag.p99)}${slave.faults > 0 ? ` faults=${slave.faults}` : ''}`)
    .join(' ');
  return (
    `[${snapshot.elapsedSeconds.toFixed(0).padStart(4)} s] ${snapshot.phase}: writes=${snapshot.masterWrites} ` +
    `replicated=${snapshot.replicated} (${snapshot.recordsPerSecond.toFixed(0)}/s) backlog=${snapshot.backlog} ` +
    `batches=${snapshot.batches} retries=${snapshot.redeliveries} lag p50/p99 ${slaves}`
  );
}

/** Draws snapshots: in place on a terminal, or as appended lines. */
export class LiveView {
  readonly #write: (text: string) => void;
  readonly #inPlace: boolean;
  #drawnLines = 0;

  constructor(write: (text: string) => void, inPlace: boolean) {
    this.#write = write;
    this.#inPlace = inPlace;
    if (inPlace) this.#write(`${ESC}?25l`);
  }

  draw(snapshot: ViewSnapshot): void {
    if (!this.#inPlace) {
      this.#write(`${renderLine(snapshot)}\n`);
      return;
    }
    const lines = renderBlock(snapshot, true);
    const up = this.#drawnLines > 0 ? `${ESC}${this.#drawnLines}A\r` : '';
    this.#write(up + lines.map((line) => `${CLEAR_LINE}${line}\n`).join(''));
    this.#drawnLines = lines.length;
  }

  /** Leaves the last drawing on screen and shows the cursor again. */
  close(): void {
    if (this.#inPlace) this.#write(`${ESC}?25h`);
  }
}
