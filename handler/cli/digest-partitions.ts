import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** Items per partition the automatic choice aims at: about 40 MB of memory when one partition is compared. */
export const ITEMS_PER_PARTITION = 200_000;
/** Open files per table stay well under a process's default limit of 1024. */
export const MAX_PARTITIONS = 256;

/** The number of partitions that keeps one of them near {@link ITEMS_PER_PARTITION} items. */
export function partitionsFor(expectedItems: number): number {
  return Math.min(MAX_PARTITIONS, Math.max(1, Math.ceil(expectedItems / ITEMS_PER_PARTITION)));
}

/** One item of a table as verify keeps it: its key identity and the digest of its content. */
export interface DigestEntry {
  readonly keyId: string;
  readonly digest: string;
}

/**
 * The (key, digest) pairs of one table, spread on disk over partitions by a hash of the key.
 *
 * Verify compares a master and a slave one partition at a time: an item falls in the same partition on both sides,
 * so memory holds one partition of the master, never the whole table, and each table is scanned once.
 */
export class DigestPartitions {
  private readonly streams: WriteStream[];

  public constructor(
    private readonly directory: string,
    private readonly side: string,
    public readonly count: number,
  ) {
    this.streams = Array.from({ length: count }, (_, partition) => createWriteStream(this.pathOf(partition)));
  }

  /** The partition of a key. */
  public partitionOf(keyId: string): number {
    return createHash('sha1').update(keyId).digest().readUInt32BE(0) % this.count;
  }

  /** Appends the entries of one scan page, waiting when the disk falls behind. */
  public async add(entries: readonly DigestEntry[]): Promise<void> {
    const lines = new Map<number, string[]>();
    for (const { keyId, digest } of entries) {
      const partition = this.partitionOf(keyId);
      let group = lines.get(partition);
      if (group === undefined) lines.set(partition, (group = []));
      // A key identity is JSON: its strings escape tabs and newlines, so both separate fields safely.
      group.push(`${keyId}\t${digest}\n`);
    }
    const waits: Promise<unknown>[] = [];
    for (const [partition, group] of lines) {
      const stream = this.streams[partition];
      if (stream !== undefined && !stream.write(group.join(''))) waits.push(once(stream, 'drain'));
    }
    await Promise.all(waits);
  }

  /** Flushes and closes every partition file. */
  public async close(): Promise<void> {
    await Promise.all(
      this.streams.map(
        (stream) =>
          new Promise<void>((resolve, reject) => {
            stream.once('error', reject);
            stream.end(() => resolve());
          }),
      ),
    );
  }

  /** The entries of one partition, in the order they were added. */
  public async *read(partition: number): AsyncGenerator<DigestEntry> {
    const lines = createInterface({ input: createReadStream(this.pathOf(partition)), crlfDelay: Infinity });
    for await (const line of lines) {
      const tab = line.lastIndexOf('\t');
      if (tab > 0) yield { keyId: line.slice(0, tab), digest: line.slice(tab + 1) };
    }
  }

  private pathOf(partition: number): string {
    return join(this.directory, `${this.side}.${partition}.tsv`);
  }
}
