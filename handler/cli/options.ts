import { readFileSync } from 'node:fs';
import { DEFAULTS, parseSlaves, rejectMasterAsSlave } from '../config';
import { ConfigurationError } from '../errors';
import { DEFAULT_SETTLE_MS } from '../initial-copy';
import type { SlaveConfig } from '../types';

/** Where the master table is. */
export interface MasterLocation {
  readonly tableName: string;
  readonly region: string;
  /** Endpoint URL of a local engine; without it the SDK's `AWS_ENDPOINT_URL_DYNAMODB` applies. */
  readonly endpoint?: string;
}

/** What both commands read: the master, its slaves and how hard to scan. */
export interface CommonOptions {
  readonly master: MasterLocation;
  readonly slaves: readonly SlaveConfig[];
  readonly segments: number;
  readonly workers: number;
  readonly pageSize: number;
  readonly writeConcurrency: number;
  /** Items a second at most, per table scanned. */
  readonly rate: number | undefined;
  readonly json: boolean;
  readonly progress: boolean;
  /** The replicator's state table (`--state-table`, or REPLICATOR_STATE_TABLE), in the master's region. */
  readonly stateTable: string | undefined;
}

export interface BackfillOptions extends CommonOptions {
  /** The segments this machine copies, of `segments` in all. */
  readonly mySegments: readonly number[];
  /** Share of the master's provisioned read capacity the scan may use, in (0, 1]. */
  readonly capacityShare: number | undefined;
  readonly checkpointDir: string;
  readonly requireStream: boolean;
  /** How long a new slave must have been parked before the copy reads the master. */
  readonly settleMs: number;
}

/** What `status` and `redrive` read. */
export interface StateOptions {
  readonly master: MasterLocation;
  readonly slaves: readonly SlaveConfig[];
  readonly stateTable: string;
  readonly writeConcurrency: number;
  readonly json: boolean;
}

export interface RedriveOptions extends StateOptions {
  /** Invocation records to replay: `s3://bucket/prefix`, a file, or a directory of files. */
  readonly from: string | undefined;
  /** Replay the records the function kept as rejected in the state table. */
  readonly rejected: boolean;
  /** Delete each S3 object once its records are replayed (rejected records are deleted from the state table always). */
  readonly deleteReplayed: boolean;
}

export interface VerifyOptions extends CommonOptions {
  readonly recheckAttempts: number;
  /** The first pause between re-reads of a difference; each further pause doubles. */
  readonly recheckDelayMs: number;
  /** How long a difference is re-read before it counts: the replication lag the check allows for. */
  readonly recheckWindowMs: number;
  /** Top-level attributes left out of the comparison. */
  readonly ignoreAttributes: readonly string[];
  /** Compare only this share of the master's items (by parallel-scan segment), read by key from each slave. */
  readonly sample: number | undefined;
  readonly samples: number;
  readonly repair: boolean;
  readonly workDir: string | undefined;
  /** Partitions of the on-disk comparison; undefined chooses from the table's item count. */
  readonly partitions: number | undefined;
}

/** Flags as commander hands them over: strings, booleans, or absent. */
export type RawFlags = Readonly<Record<string, string | boolean | undefined>>;

export const CLI_DEFAULTS = {
  segments: 8,
  pageSize: 1000,
  recheckAttempts: 10,
  recheckDelayMs: 1000,
  recheckWindowSeconds: 300,
  samples: 10,
  checkpointDir: 'dynamo-replicator-checkpoints',
} as const;

/** Reads the flags both commands share. @throws ConfigurationError naming the flag. */
export function parseCommonOptions(flags: RawFlags, env: NodeJS.ProcessEnv): CommonOptions {
  const master = parseMaster(flags, env);
  const slaves = readSlaves(flags, env);
  rejectMasterAsSlave(slaves, master, (slave) => `slave "${slave.name}"`);
  const segments = integer(flags, '--segments', CLI_DEFAULTS.segments, 1, 1_000_000);
  return {
    master,
    slaves,
    segments,
    workers: integer(flags, '--workers', Math.min(segments, 8), 1, 1024),
    pageSize: integer(flags, '--page-size', CLI_DEFAULTS.pageSize, 1, 1_000_000),
    writeConcurrency: integer(flags, '--write-concurrency', DEFAULTS.writeConcurrency, 1, 256),
    rate: positiveNumber(flags, '--rate'),
    json: flags.json === true,
    progress: flags.progress !== false,
    stateTable: stateTableOf(flags, env),
  };
}

/** Reads the flags of `status`. @throws ConfigurationError naming the flag. */
export function parseStateOptions(flags: RawFlags, env: NodeJS.ProcessEnv): StateOptions {
  const stateTable = stateTableOf(flags, env);
  if (stateTable === undefined) throw new ConfigurationError('--state-table', 'is required (or set REPLICATOR_STATE_TABLE): the replicator\'s state table, the module\'s state_table_name output');
  return {
    master: parseMaster(flags, env),
    slaves: readSlaves(flags, env),
    stateTable,
    writeConcurrency: integer(flags, '--write-concurrency', DEFAULTS.writeConcurrency, 1, 256),
    json: flags.json === true,
  };
}

/** Reads the flags of `mark-copied`. @throws ConfigurationError naming the flag. */
export function parseMarkCopiedOptions(flags: RawFlags, env: NodeJS.ProcessEnv): StateOptions & { readonly copiedAt: number; readonly settleMs: number } {
  const raw = text(flags, '--copied-at');
  const copiedAt = raw === undefined ? Number.NaN : Date.parse(raw);
  if (!Number.isFinite(copiedAt)) throw new ConfigurationError('--copied-at', `"${raw ?? ''}" is not a time: write one like 2026-12-01T10:00:00Z (the export's point in time)`);
  return { ...parseStateOptions(flags, env), copiedAt, settleMs: integer(flags, '--settle-seconds', DEFAULT_SETTLE_MS / 1000, 0, 86_400) * 1000 };
}

/** Reads the flags of `redrive`. @throws ConfigurationError naming the flag. */
export function parseRedriveOptions(flags: RawFlags, env: NodeJS.ProcessEnv): RedriveOptions {
  const from = text(flags, '--from');
  const rejected = flags.rejected === true;
  if (from === undefined && !rejected) {
    throw new ConfigurationError('--from', 'or --rejected is required: replay invocation records (--from s3://<failure bucket>/<prefix>, a file or a directory) or the records the function kept as rejected (--rejected)');
  }
  return { ...parseStateOptions(flags, env), from, rejected, deleteReplayed: flags.deleteReplayed === true };
}

function stateTableOf(flags: RawFlags, env: NodeJS.ProcessEnv): string | undefined {
  const stateTable = text(flags, '--state-table') ?? nonEmpty(env.REPLICATOR_STATE_TABLE);
  if (stateTable !== undefined && !/^[A-Za-z0-9_.-]{3,255}$/.test(stateTable)) {
    throw new ConfigurationError('--state-table', `"${stateTable}" is not a DynamoDB table name: 3 to 255 letters, digits, "_", "-" or "."`);
  }
  return stateTable;
}

/** Reads the flags of `backfill`. @throws ConfigurationError naming the flag. */
export function parseBackfillOptions(flags: RawFlags, env: NodeJS.ProcessEnv): BackfillOptions {
  const totalFlag = text(flags, '--total-segments');
  const segmentsFlag = text(flags, '--segments');
  const segmentFlag = text(flags, '--segment');
  if (totalFlag !== undefined && segmentsFlag !== undefined && totalFlag !== segmentsFlag) {
    throw new ConfigurationError('--total-segments', `is ${totalFlag} but --segments is ${segmentsFlag}: they name the same number, give one`);
  }
  if (segmentFlag !== undefined && totalFlag === undefined) {
    throw new ConfigurationError('--segment', 'needs --total-segments: every machine must cut the table the same way, e.g. --segment 0-3 --total-segments 16');
  }
  optionalInteger(flags, '--total-segments', 1, 1_000_000);
  const common = parseCommonOptions({ ...flags, segments: totalFlag ?? segmentsFlag }, env);
  const mySegments = segmentFlag === undefined ? range(0, common.segments) : parseSegmentList(segmentFlag, common.segments);
  const capacityShare = positiveNumber(flags, '--capacity-share');
  if (capacityShare !== undefined && capacityShare > 1) {
    throw new ConfigurationError('--capacity-share', `is a fraction of the table's read capacity from 0 to 1 (e.g. 0.25), not ${capacityShare}`);
  }
  return {
    ...common,
    // More workers than segments would have nothing to do.
    workers: Math.min(common.workers, mySegments.length),
    mySegments,
    capacityShare,
    checkpointDir: text(flags, '--checkpoint-dir') ?? CLI_DEFAULTS.checkpointDir,
    requireStream: flags.allowNoStream !== true,
    settleMs: integer(flags, '--settle-seconds', DEFAULT_SETTLE_MS / 1000, 0, 86_400) * 1000,
  };
}

/** Reads the flags of `verify`. @throws ConfigurationError naming the flag. */
export function parseVerifyOptions(flags: RawFlags, env: NodeJS.ProcessEnv): VerifyOptions {
  const common = parseCommonOptions(flags, env);
  const repair = flags.repair === true;
  if (repair && common.stateTable === undefined) {
    throw new ConfigurationError(
      '--repair',
      "needs the replicator's state table (--state-table or REPLICATOR_STATE_TABLE): a repair is parked there and applied by the drain, in order with replication, so no repair write can land after a newer replicated one",
    );
  }
  const sample = positiveNumber(flags, '--sample');
  if (sample !== undefined && sample > 1) throw new ConfigurationError('--sample', `is a fraction of the master's items from 0 to 1 (e.g. 0.01), not ${sample}`);
  if (sample !== undefined && repair) throw new ConfigurationError('--sample', 'and --repair cannot be combined: a sample finds drift, a full verify repairs it');
  const ignored = text(flags, '--ignore-attribute');
  return {
    ...common,
    recheckAttempts: integer(flags, '--recheck-attempts', CLI_DEFAULTS.recheckAttempts, 1, 100),
    recheckDelayMs: integer(flags, '--recheck-delay', CLI_DEFAULTS.recheckDelayMs, 0, 600_000),
    recheckWindowMs: integer(flags, '--recheck-window', CLI_DEFAULTS.recheckWindowSeconds, 0, 86_400) * 1000,
    ignoreAttributes: ignored === undefined ? [] : ignored.split(',').map((name) => name.trim()).filter((name) => name !== ''),
    sample,
    samples: integer(flags, '--samples', CLI_DEFAULTS.samples, 0, 10_000),
    repair,
    workDir: text(flags, '--work-dir'),
    partitions: optionalInteger(flags, '--partitions', 1, 256),
  };
}

function parseMaster(flags: RawFlags, env: NodeJS.ProcessEnv): MasterLocation {
  const tableName = text(flags, '--table');
  if (tableName === undefined) throw new ConfigurationError('--table', 'is required: name the master table, e.g. --table orders');
  const region = text(flags, '--region') ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION);
  if (region === undefined) throw new ConfigurationError('--region', "is required (or set AWS_REGION): the master table's region, e.g. --region eu-west-1");
  const endpoint = text(flags, '--endpoint');
  if (endpoint !== undefined && !/^https?:\/\/[^\s]+$/.test(endpoint)) {
    throw new ConfigurationError('--endpoint', `"${endpoint}" is not an http(s) URL: write one like http://127.0.0.1:8000`);
  }
  return { tableName, region, ...(endpoint === undefined ? {} : { endpoint }) };
}

function readSlaves(flags: RawFlags, env: NodeJS.ProcessEnv): SlaveConfig[] {
  const inline = text(flags, '--slaves');
  const file = text(flags, '--slaves-file');
  if (inline !== undefined && file !== undefined) {
    throw new ConfigurationError('--slaves-file', 'and --slaves both name the slaves: give one of them');
  }
  if (inline !== undefined) return parseSlaves(inline, '--slaves');
  if (file !== undefined) {
    let json: string;
    try {
      json = readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigurationError('--slaves-file', `cannot read ${file}: ${(error as Error).message}`);
    }
    return parseSlaves(json, `--slaves-file ${file}`);
  }
  if (nonEmpty(env.REPLICATOR_SLAVES) === undefined) {
    throw new ConfigurationError('--slaves', `is required (or --slaves-file, or the REPLICATOR_SLAVES variable): a JSON object like {"eu":{"region":"eu-west-1","table_name":"orders-replica"}}`);
  }
  return parseSlaves(env.REPLICATOR_SLAVES, 'REPLICATOR_SLAVES');
}

/**
 * Reads `--segment`: one segment (`3`), a range (`0-7`) or a list of both (`0-3,8`), each below `total`.
 * Several machines share a table by taking disjoint lists of the same `--total-segments`.
 */
export function parseSegmentList(list: string, total: number): number[] {
  const chosen = new Set<number>();
  for (const part of list.split(',')) {
    const match = /^\s*(\d+)(?:\s*-\s*(\d+))?\s*$/.exec(part);
    if (match === null) throw new ConfigurationError('--segment', `"${list}" is not a segment list: write 3, 0-7 or 0-3,8`);
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    if (to < from || to >= total) {
      throw new ConfigurationError('--segment', `"${part.trim()}" is outside 0-${total - 1}: segments are numbered from 0 to --total-segments minus one`);
    }
    for (let segment = from; segment <= to; segment += 1) chosen.add(segment);
  }
  return [...chosen].sort((a, b) => a - b);
}

function flagKey(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

function text(flags: RawFlags, flag: string): string | undefined {
  const value = flags[flagKey(flag)];
  if (value === undefined || typeof value === 'boolean') return undefined;
  if (value.trim() === '') throw new ConfigurationError(flag, 'is empty: give it a value or leave it out');
  return value;
}

function integer(flags: RawFlags, flag: string, fallback: number, min: number, max: number): number {
  return optionalInteger(flags, flag, min, max) ?? fallback;
}

function optionalInteger(flags: RawFlags, flag: string, min: number, max: number): number | undefined {
  const raw = text(flags, flag);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || value < min || value > max) {
    throw new ConfigurationError(flag, `must be a whole number from ${min} to ${max}, not "${raw}"`);
  }
  return value;
}

function positiveNumber(flags: RawFlags, flag: string): number | undefined {
  const raw = text(flags, flag);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new ConfigurationError(flag, `must be a number above 0, not "${raw}"`);
  return value;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}
