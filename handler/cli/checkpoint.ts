import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeImage } from '../attribute-value';
import { ConfigurationError } from '../errors';
import type { AttributeMap } from '../types';

/** A key as JSON can hold it: DynamoDB JSON with binary in base64 (the same form as a Lambda stream image). */
export type EncodedKey = Record<string, { S: string } | { N: string } | { B: string }>;

/** What a backfill run is, so a checkpoint of another run is never taken for this one. */
export interface RunIdentity {
  readonly table: string;
  readonly region: string;
  readonly totalSegments: number;
  /** `name=region/table` of every slave, sorted: a slave added on resume would miss the pages already copied. */
  readonly slaves: readonly string[];
}

/** Where one scan segment stands. */
export interface SegmentCheckpoint {
  readonly segment: number;
  /** The key to continue the scan from; null before the first page is copied. */
  readonly lastEvaluatedKey: AttributeMap | null;
  readonly done: boolean;
  readonly itemsCopied: number;
  /** When the first run of this copy started, epoch ms: the stream must still hold every change made since. */
  readonly startedAt: number;
}

interface CheckpointFile extends RunIdentity {
  readonly version: 1;
  readonly segment: number;
  readonly lastEvaluatedKey: EncodedKey | null;
  readonly done: boolean;
  readonly itemsCopied: number;
  readonly startedAt: number;
  readonly updatedAt: string;
}

const FLAG = '--checkpoint-dir';

/** Turns a key into JSON-safe form; binary becomes base64 so a key with bytes resumes exactly. */
export function encodeKey(key: AttributeMap): EncodedKey {
  const encoded: EncodedKey = {};
  for (const [name, value] of Object.entries(key)) {
    if (value.S !== undefined) encoded[name] = { S: value.S };
    else if (value.N !== undefined) encoded[name] = { N: value.N };
    else if (value.B !== undefined) encoded[name] = { B: Buffer.from(value.B).toString('base64') };
    else throw new Error(`key attribute "${name}" must be of type S, N or B`);
  }
  return encoded;
}

/** The inverse of {@link encodeKey}. */
export function decodeKey(encoded: unknown, where: string): AttributeMap {
  return decodeImage(encoded, where);
}

/**
 * One checkpoint file per scan segment in a directory, written only after a page is on every slave.
 *
 * Each save writes a temporary file, flushes it to disk and renames it over the old one: a crash leaves either the old
 * or the new checkpoint, never a torn file. Resuming repeats at most the page that was being written, and writing an
 * item again is harmless.
 */
export class CheckpointStore {
  public constructor(
    private readonly directory: string,
    private readonly run: RunIdentity,
  ) {}

  /**
   * Creates the directory and refuses checkpoints of the same table cut into another number of segments: their keys
   * mean nothing in this split, and mixing them would skip or repeat items silently.
   */
  public async open(): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    const prefix = `${this.run.table}.segment-`;
    for (const name of await readdir(this.directory)) {
      const match = name.startsWith(prefix) ? /-of-(\d+)\.json$/.exec(name) : null;
      if (match !== null && Number(match[1]) !== this.run.totalSegments) {
        throw new ConfigurationError(
          FLAG,
          `${join(this.directory, name)} belongs to a copy of ${this.run.table} in ${match[1]} segments, not ${this.run.totalSegments}: resume with --total-segments ${match[1]}, or use another directory to start over`,
        );
      }
    }
  }

  /** The checkpoint of a segment, or undefined when it has none. */
  public async load(segment: number): Promise<SegmentCheckpoint | undefined> {
    const path = this.pathOf(segment);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const file = readCheckpointFile(text, path);
    this.checkSameRun(path, file);
    return {
      segment,
      lastEvaluatedKey: file.lastEvaluatedKey === null ? null : decodeKey(file.lastEvaluatedKey, `${path} lastEvaluatedKey`),
      done: file.done,
      itemsCopied: file.itemsCopied,
      startedAt: file.startedAt,
    };
  }

  /** Replaces the checkpoint of a segment atomically. */
  public async save(checkpoint: SegmentCheckpoint): Promise<void> {
    const file: CheckpointFile = {
      version: 1,
      ...this.run,
      segment: checkpoint.segment,
      lastEvaluatedKey: checkpoint.lastEvaluatedKey === null ? null : encodeKey(checkpoint.lastEvaluatedKey),
      done: checkpoint.done,
      itemsCopied: checkpoint.itemsCopied,
      startedAt: checkpoint.startedAt,
      updatedAt: new Date().toISOString(),
    };
    const path = this.pathOf(checkpoint.segment);
    const temporary = `${path}.${process.pid}.tmp`;
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(`${JSON.stringify(file, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(temporary, path);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  /** The file of a segment's checkpoint. */
  public pathOf(segment: number): string {
    return join(this.directory, `${this.run.table}.segment-${segment}-of-${this.run.totalSegments}.json`);
  }

  private checkSameRun(path: string, file: CheckpointFile): void {
    if (file.table !== this.run.table || file.region !== this.run.region) {
      throw new ConfigurationError(FLAG, `${path} belongs to table ${file.table} in ${file.region}, not ${this.run.table} in ${this.run.region}: use another directory`);
    }
    const theirs = [...file.slaves].sort().join(', ');
    const ours = [...this.run.slaves].sort().join(', ');
    if (theirs !== ours) {
      throw new ConfigurationError(
        FLAG,
        `${path} was written for slaves [${theirs}], this run has [${ours}]: a slave added mid-copy would miss the pages already copied; resume with the same slaves, or start over in another directory`,
      );
    }
  }
}

/** Checks a checkpoint file field by field: it is read from disk, and a wrong one must not resume from a wrong key. */
function readCheckpointFile(text: string, path: string): CheckpointFile {
  const broken = (reason: string): ConfigurationError =>
    new ConfigurationError(FLAG, `${path} is not a checkpoint of this tool (${reason}): delete it to copy that segment from the start`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw broken((error as Error).message);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw broken('not a JSON object');
  const file = parsed as Record<string, unknown>;
  if (file.version !== 1) throw broken(`version ${JSON.stringify(file.version)}, this tool reads version 1`);
  for (const field of ['table', 'region'] as const) if (typeof file[field] !== 'string') throw broken(`${field} is not a string`);
  for (const field of ['totalSegments', 'segment', 'itemsCopied', 'startedAt'] as const) {
    if (typeof file[field] !== 'number' || !Number.isFinite(file[field])) throw broken(`${field} is not a number`);
  }
  if (typeof file.done !== 'boolean') throw broken('done is not true or false');
  if (!Array.isArray(file.slaves) || !file.slaves.every((slave) => typeof slave === 'string')) throw broken('slaves is not a list of names');
  if (file.lastEvaluatedKey !== null && (typeof file.lastEvaluatedKey !== 'object' || Array.isArray(file.lastEvaluatedKey))) {
    throw broken('lastEvaluatedKey is not a key');
  }
  return file as unknown as CheckpointFile;
}
