/**
 * Command-line options of `npm run demo`.
 */
import { parseArgs } from 'node:util';

/** Faults the demo can inject in front of a slave. */
export const DemoFault = { NONE: 'none', THROTTLE: 'throttle' } as const;
/** One of {@link DemoFault}. */
export type DemoFault = (typeof DemoFault)[keyof typeof DemoFault];

/** The demo's settings. */
export interface DemoOptions {
  /** 1-5: the first slave shares the master's engine, each other one has an engine of its own. */
  readonly slaves: number;
  /** Master writes per second. */
  readonly rate: number;
  readonly durationSeconds: number;
  readonly fault: DemoFault;
  readonly seed: number;
  readonly batchSize: number;
  /** Chance that a put writes a ~350 KB item. */
  readonly largeItemShare: number;
  /** Plain periodic lines instead of a view refreshed in place. */
  readonly plain: boolean;
}

/** Shown by `--help`. */
export const USAGE = `Usage: npm run demo -- [options]

Replicates a live workload on a local master table to local slave tables with the
committed Lambda bundle (dist/lambda/index.mjs), then checks every slave item by item.

Options:
  --slaves <n>        slave tables, 1-5 (default 3): the first in the master's own engine
                      under another table name, the others in engines of their own
  --rate <n>          master writes per second (default 200)
  --duration <s>      seconds of workload (default 20)
  --fault <kind>      none | throttle: throttle the last slave's BatchWriteItem calls
                      (400 ProvisionedThroughputExceeded/Throttling, half of them) to show
                      that nothing is lost (default none)
  --batch-size <n>    event source mapping batch size, 1-10000 (default 100)
  --large-items <p>   share of puts that write a ~350 KB item, 0-1 (default 0.002)
  --seed <n>          workload seed (default 1)
  --plain             periodic plain lines instead of a live view (the default when
                      standard output is not a terminal, e.g. in CI)
  -h, --help          show this help

Exits 0 when every slave matches the master, 1 when one differs, 2 on bad options,
130 when interrupted.`;

/** Raised for an option that cannot be used; the message says what to write instead. */
export class OptionError extends Error {
  override readonly name = 'OptionError';
}

function numberOption(name: string, raw: string | undefined, fallback: number, min: number, max: number, integer: boolean): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new OptionError(`--${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

/** Parses `argv` (without the node and script paths); `undefined` means help was asked for. */
export function parseDemoOptions(argv: readonly string[], stdoutIsTty: boolean): DemoOptions | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        slaves: { type: 'string' },
        rate: { type: 'string' },
        duration: { type: 'string' },
        fault: { type: 'string' },
        'batch-size': { type: 'string' },
        'large-items': { type: 'string' },
        seed: { type: 'string' },
        plain: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new OptionError(`${(error as Error).message}; see --help`);
  }
  const { values } = parsed;
  if (values.help === true) return undefined;
  const fault = values.fault ?? DemoFault.NONE;
  if (fault !== DemoFault.NONE && fault !== DemoFault.THROTTLE) {
    throw new OptionError(`--fault must be "none" or "throttle", got "${fault}"`);
  }
  return {
    slaves: numberOption('slaves', values.slaves, 3, 1, 5, true),
    rate: numberOption('rate', values.rate, 200, 1, 5_000, false),
    durationSeconds: numberOption('duration', values.duration, 20, 1, 3_600, false),
    fault,
    seed: numberOption('seed', values.seed, 1, 0, 2 ** 32 - 1, true),
    batchSize: numberOption('batch-size', values['batch-size'], 100, 1, 10_000, true),
    largeItemShare: numberOption('large-items', values['large-items'], 0.002, 0, 1, false),
    plain: values.plain === true || !stdoutIsTty,
  };
}
