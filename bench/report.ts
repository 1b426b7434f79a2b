/** The rows every scenario reports, the statistics they are made of, and the Markdown table `npm run bench` prints. */
import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus, totalmem } from 'node:os';

/** One line of the table: a rate, its ratio to the raw limit, and maybe a ratio to another baseline of the run. */
export interface Row {
  readonly scenario: string;
  readonly approach: string;
  /** Records, changes or items the rate counts, per run. */
  readonly count: number;
  readonly unit: 'records/s' | 'items/s';
  /** Median seconds of a run. */
  readonly seconds: number;
  /** Median rate of the rounds. */
  readonly perSec: number;
  /** Median of the rounds' ratios to the raw limit measured in the same round. */
  readonly ratioToRaw: number | null;
  /** Another ratio, with what it is against, e.g. `{ ratio: 2.4, against: 'the live parking rate' }`. */
  readonly other: { readonly ratio: number; readonly against: string } | null;
  readonly staleOrMissing: number | null;
}

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

/** What {@link betweenBaselines} measured: the medians of both sides, and the median of the rounds' own ratios. */
export interface PairedMeasure {
  readonly measured: number;
  readonly baseline: number;
  readonly ratio: number;
}

/**
 * `rounds` rounds of `measure`, each between a run of `baseline` before and one after, whose mean is that round's
 * baseline: the lower of two noisy runs against a single one would favour the baseline, and either order alone the
 * engine's warm-up.
 */
export async function betweenBaselines(rounds: number, baseline: () => Promise<number>, measure: () => Promise<number>): Promise<PairedMeasure> {
  const [paired] = await betweenEachBaseline(rounds, [baseline], measure);
  if (paired === undefined) throw new Error('no baseline measured');
  return paired;
}

/**
 * {@link betweenBaselines} for several baselines at once: each round runs them in turn, then `measure`, then them
 * again in the reverse order, so each sits as near to the measure before as after. One result per baseline.
 */
export async function betweenEachBaseline(rounds: number, baselines: readonly (() => Promise<number>)[], measure: () => Promise<number>): Promise<PairedMeasure[]> {
  const measured: number[] = [];
  const means: number[][] = baselines.map(() => []);
  for (let round = 0; round < rounds; round += 1) {
    const before: number[] = [];
    for (const baseline of baselines) before.push(await baseline());
    measured.push(await measure());
    for (const [i, baseline] of [...baselines.entries()].reverse()) means[i]?.push(((before[i] ?? Number.NaN) + (await baseline())) / 2);
  }
  return means.map((baseline) => ({ measured: median(measured), baseline: median(baseline), ratio: median(measured.map((value, round) => value / (baseline[round] ?? Number.NaN))) }));
}

export async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
}

/** The rows of one scenario, built round by round. */
export class ScenarioRows {
  public readonly rows: Row[] = [];

  public constructor(public readonly scenario: string) {}

  /** A row from each round's seconds, and each round's ratios. */
  public add(
    approach: string,
    count: number,
    unit: Row['unit'],
    seconds: readonly number[],
    ratios: { toRaw?: readonly number[]; other?: { ratios: readonly number[]; against: string } } = {},
    staleOrMissing: number | null = null,
  ): void {
    const typical = median(seconds);
    this.rows.push({
      scenario: this.scenario,
      approach,
      count,
      unit,
      seconds: typical,
      perSec: Math.round(median(seconds.map((s) => count / s))),
      ratioToRaw: ratios.toRaw === undefined ? null : median(ratios.toRaw),
      other: ratios.other === undefined ? null : { ratio: median(ratios.other.ratios), against: ratios.other.against },
      staleOrMissing,
    });
  }
}

/** The machine the numbers were measured on. */
export interface Machine {
  readonly cores: number;
  readonly cpu: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly java: string;
  /** DynamoDB Local's version. */
  readonly engine: string;
}

export function describeMachine(engineVersion: string): Machine {
  // `java -version` writes to standard error.
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' }).stderr.split('\n')[0]?.trim() ?? 'unknown';
  return { cores: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, java, engine: engineVersion };
}

export function machineLine(machine: Machine): string {
  return `machine: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB memory, Node ${machine.node}, ${machine.java}; DynamoDB Local ${machine.engine} engines with C1 only (test/support/dynamodb-local.ts), client and engines sharing the cores`;
}

const ratio = (value: number | null): string => (value === null ? 'n/a' : `${value.toFixed(2)}x`);

export function markdownTable(rows: readonly Row[]): string {
  const lines = ['| scenario | approach | per second | vs raw limit | other ratio | wrong items at the end |', '| --- | --- | ---: | ---: | --- | ---: |'];
  for (const row of rows) {
    const other = row.other === null ? '-' : `${ratio(row.other.ratio)} ${row.other.against}`;
    lines.push(`| ${row.scenario} | ${row.approach} | ${row.perSec} ${row.unit} | ${ratio(row.ratioToRaw)} | ${other} | ${row.staleOrMissing ?? '-'} |`);
  }
  return lines.join('\n');
}
