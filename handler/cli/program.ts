import { Command, CommanderError, Option } from 'commander';
import { createClientProvider, type ClientProvider } from '../clients';
import { DEFAULTS } from '../config';
import { ConfigurationError } from '../errors';
import { runBackfill } from './backfill';
import { parseBackfillOptions, parseMarkCopiedOptions, parseRedriveOptions, parseStateOptions, parseVerifyOptions, type RawFlags } from './options';
import { formatRedrive, runRedrive } from './redrive';
import { formatStatus, markCopied, runStatus } from './status';
import type { ProgressOutput } from './progress';
import { formatBackfillSummary, formatVerifySummary } from './report';
import { runVerify } from './verify';

/** Exit codes of the tool. */
export const EXIT = {
  /** Backfill complete; verify found every slave equal (after repair, with `--repair`). */
  ok: 0,
  /** Writes failed, a slave differs, or a table could not be read. */
  failed: 1,
  /** A flag or the slave definitions are wrong. */
  usage: 2,
  /** Stopped by SIGINT; a backfill resumes from its checkpoints. */
  interrupted: 130,
} as const;

/** What the tool reads and writes: the process's, or fakes in tests. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: ProgressOutput;
  readonly env: NodeJS.ProcessEnv;
  /** Fires on SIGINT. */
  readonly signal: AbortSignal;
  readonly clients?: ClientProvider;
}

const SLAVES_HELP = 'slave tables as REPLICATOR_SLAVES JSON: {"<name>":{"region":"...","table_name":"...","role_arn?":"...","external_id?":"...","endpoint?":"...","initial_copy?":true,"enabled?":false}}';

/**
 * Runs `dynamo-replicator <backfill|verify> [flags]` and resolves with the exit code. Never throws: every error is
 * written to standard error as one message naming the flag, table, slave or key it is about.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  const clients = io.clients ?? createClientProvider();
  const program = new Command('dynamo-replicator')
    .description('Initial copy (backfill), proof of sameness (verify), state (status) and replay of failed records (redrive) for a DynamoDB master table and its slaves.')
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .showHelpAfterError('(add --help for the options)');

  // What every command reads: the master, its slaves and the state table.
  const tables = (command: Command): Command =>
    command
      .requiredOption('--table <name>', 'master table name')
      .option('--region <region>', "master table's region (default: AWS_REGION)")
      .option('--endpoint <url>', 'DynamoDB endpoint of the master, for a local engine (default: AWS_ENDPOINT_URL_DYNAMODB)')
      .option('--slaves <json>', SLAVES_HELP)
      .option('--slaves-file <path>', 'file holding that JSON (default: the REPLICATOR_SLAVES variable)')
      .option('--state-table <name>', "the replicator's state table, the module's state_table_name output (default: REPLICATOR_STATE_TABLE)");

  const common = (command: Command): Command =>
    tables(command)
      .option('--workers <n>', 'segments scanned at once (default: segments, at most 8)')
      .option('--page-size <n>', 'items per Scan page at most', '1000')
      .option('--write-concurrency <n>', 'BatchWriteItem or BatchGetItem calls in flight per slave', String(DEFAULTS.writeConcurrency))
      .option('--rate <items/s>', 'items read per second at most, per table (a token bucket shared by the workers)')
      .option('--json', 'print the summary as one JSON object on standard output')
      .option('--no-progress', 'no progress bar or progress lines on standard error');

  const stateCommand = (command: Command): Command =>
    tables(command)
      .option('--write-concurrency <n>', 'calls in flight per table', String(DEFAULTS.writeConcurrency))
      .option('--json', 'print the summary as one JSON object on standard output');

  const act = (work: (flags: RawFlags) => Promise<number>) => async (flags: RawFlags) => {
    exitCode = await work(flags);
  };

  common(program.command('backfill').description("copy every master item into new slaves marked initial_copy, while replication runs (see docs/backfill.md)"))
    .option('--segments <n>', 'parallel scan segments', '8')
    .option('--segment <list>', 'only these segments, e.g. 3, 0-7 or 0-3,8, to split the copy across machines (needs --total-segments)')
    .option('--total-segments <n>', 'segments in all, the same on every machine')
    .option('--capacity-share <fraction>', "share of the master's provisioned read capacity to use, e.g. 0.25 (not for on-demand tables)")
    .option('--checkpoint-dir <dir>', 'where each segment records its progress, to resume', 'dynamo-replicator-checkpoints')
    .addOption(new Option('--allow-no-stream', 'copy even though the master has no stream (a one-off copy, no replication after)'))
    .option('--settle-seconds <n>', 'how long a new slave must have been parked before the copy reads the master (default 900: the longest Lambda invocation)')
    .action(
      act(async (flags) => {
        const options = parseBackfillOptions(withoutDefaultSegments(flags, program), io.env);
        const summary = await runBackfill(options, { clients, stderr: io.stderr, signal: io.signal });
        io.stdout.write(`${options.json ? JSON.stringify(summary) : formatBackfillSummary(summary)}\n`);
        if (summary.failedWrites > 0) return EXIT.failed;
        return summary.interrupted ? EXIT.interrupted : EXIT.ok;
      }),
    );

  common(program.command('verify').description('compare every slave with the master item by item; exit 0 only when equal'))
    .option('--segments <n>', 'parallel scan segments per table', '8')
    .option('--recheck-attempts <n>', 'strongly consistent re-reads of a difference at most before it counts', '10')
    .option('--recheck-delay <ms>', 'first pause between re-reads; each further pause doubles', '1000')
    .option('--recheck-window <seconds>', 'how long a difference is re-read before it counts: the replication lag allowed for (the IteratorAge alarm threshold by default)', '300')
    .option('--ignore-attribute <names>', 'top-level attributes left out of the comparison, comma-separated (e.g. updated_at,etag)')
    .option('--sample <fraction>', "compare only this share of the master's items (its scan segments), read by key from each slave; does not look for extra items")
    .option('--samples <n>', 'sample keys shown per kind of difference', '10')
    .option('--repair', 'bring each differing key level with the master through the state table and the drain (needs --state-table), then confirm')
    .option('--work-dir <dir>', 'where the per-partition digests of the scan go (default: the system temp dir)')
    .option('--partitions <n>', 'on-disk partitions of the comparison (default: one per 200,000 items)')
    .action(
      act(async (flags) => {
        const options = parseVerifyOptions(flags, io.env);
        const summary = await runVerify(options, { clients, stderr: io.stderr, signal: io.signal });
        io.stdout.write(`${options.json ? JSON.stringify(summary) : formatVerifySummary(summary)}\n`);
        if (summary.interrupted) return EXIT.interrupted;
        return summary.equal ? EXIT.ok : EXIT.failed;
      }),
    );

  stateCommand(program.command('status').description('show each slave as live or parked, its parked changes and their age, and an initial copy\'s progress'))
    .action(
      act(async (flags) => {
        const summary = await runStatus(parseStateOptions(flags, io.env), { clients });
        io.stdout.write(`${flags.json === true ? JSON.stringify(summary) : formatStatus(summary)}\n`);
        return EXIT.ok;
      }),
    );

  stateCommand(program.command('mark-copied').description('mark new slaves copied by other means (an S3 export imported into the slave table): the drain then applies the changes parked since and hands them over'))
    .requiredOption('--copied-at <time>', 'the point in time the copy shows the master at, e.g. the export time (ISO 8601)')
    .option('--settle-seconds <n>', 'how long each slave must have been parked at that time (default 900: the longest Lambda invocation)', '900')
    .action(
      act(async (flags) => {
        const options = parseMarkCopiedOptions(flags, io.env);
        const marked = await markCopied(options, { clients });
        io.stdout.write(`${flags.json === true ? JSON.stringify({ markedCopied: marked }) : `marked copied: ${marked.join(', ')}; the drain now applies the changes parked since each was parked and puts it live (npx dynamo-replicator status shows when)`}\n`);
        return EXIT.ok;
      }),
    );

  stateCommand(program.command('redrive').description('replay stream records given up on (S3 invocation records, files of them) or kept as rejected: every key they name is brought level with the master'))
    .option('--from <source>', 'invocation records: s3://<failure bucket>/<prefix>, a file, or a directory of files')
    .option('--rejected', 'replay the records the function kept as rejected in the state table')
    .option('--delete-replayed', 'delete each S3 object once its records are replayed')
    .action(
      act(async (flags) => {
        const summary = await runRedrive(parseRedriveOptions(flags, io.env), { clients, stderr: io.stderr });
        io.stdout.write(`${flags.json === true ? JSON.stringify(summary) : formatRedrive(summary)}\n`);
        return summary.undecodable.length > 0 || Object.values(summary.drain?.pending ?? {}).some((pending) => pending !== 0) ? EXIT.failed : EXIT.ok;
      }),
    );

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof ConfigurationError) {
      io.stderr.write(`dynamo-replicator: ${error.message}\n`);
      return EXIT.usage;
    }
    io.stderr.write(`dynamo-replicator: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failed;
  }
  return exitCode;
}

/**
 * `--segments` has a default for the help text, but a default must not clash with an explicit `--total-segments`:
 * only a value the user typed is passed on.
 */
function withoutDefaultSegments(flags: RawFlags, program: Command): RawFlags {
  const command = program.commands.find((candidate) => candidate.name() === 'backfill');
  return command?.getOptionValueSource('segments') === 'default' ? { ...flags, segments: undefined } : flags;
}
