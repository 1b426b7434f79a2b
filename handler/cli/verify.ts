import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ClientProvider } from '../clients';
import { describeKey, keyIdentity } from '../attribute-value';
import { slaveLabel, type SlaveTarget } from '../slave-writer';
import { encodeKey, type EncodedKey } from './checkpoint';
import { DigestPartitions, partitionsFor } from './digest-partitions';
import { MasterTableError } from './errors';
import { itemDigest, keyOfIdentity } from './item-digest';
import type { VerifyOptions } from './options';
import { Progress, type ProgressOutput } from './progress';
import { TokenBucket } from './rate-limiter';
import { recheckDifferences, repairDrift, type DriftKind } from './recheck';
import { scanSegment } from './scan';
import { readTableFacts, type TableFacts } from './table-facts';
import { connectMaster, connectSlaves } from './tables';

/** Suspected differences re-read together: bounds the memory and the size of one group of BatchGetItem calls. */
const RECHECK_GROUP = 1_000;

/** A key shown in a report: as DynamoDB JSON (binary in base64) and as text. */
export interface SampleKey {
  readonly key: EncodedKey;
  readonly text: string;
}

/** How one slave compares with the master. */
export interface SlaveVerdict {
  readonly name: string;
  readonly table: string;
  readonly region: string;
  /** Items the scan found in the slave. */
  readonly items: number;
  readonly missing: number;
  readonly extra: number;
  readonly different: number;
  /** Differences the scan saw that strongly consistent re-reads found gone: changes still being replicated. */
  readonly settled: number;
  /** Keys that could not be read again; neither equal nor proven different. */
  readonly unreadable: number;
  readonly repaired: number;
  readonly unrepaired: number;
  readonly samples: Readonly<Record<DriftKind, SampleKey[]>>;
  readonly errors: readonly string[];
  /** True when the slave equals the master (after repair, when asked). */
  readonly equal: boolean;
}

/** What a verify run found. */
export interface VerifySummary {
  readonly table: string;
  readonly region: string;
  readonly masterItems: number;
  readonly slaves: readonly SlaveVerdict[];
  readonly equal: boolean;
  readonly repair: boolean;
  readonly partitions: number;
  readonly interrupted: boolean;
  readonly durationMs: number;
}

export interface VerifyDependencies {
  readonly clients: ClientProvider;
  readonly stderr: ProgressOutput;
  readonly signal: AbortSignal;
  readonly now?: () => number;
}

interface Side {
  readonly name: string;
  readonly label: string;
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly partitions: DigestPartitions;
  items: number;
}

/**
 * Proves each slave equal to the master, or shows how it differs.
 *
 * Every table is scanned once, in parallel (eventually consistent: whatever the scan gets wrong is read again), and
 * each item is kept as a key identity and a digest of its content in on-disk partitions. Partitions are then compared
 * one at a time, so memory holds one partition of the master, not the table. Each suspected difference is read again
 * strongly consistently on both sides, a few times with a pause, before it is counted; with `repair`, what remains is
 * written from the master's current state and confirmed.
 */
export async function runVerify(options: VerifyOptions, dependencies: VerifyDependencies): Promise<VerifySummary> {
  const now = dependencies.now ?? Date.now;
  const started = now();
  const master = connectMaster(options.master, dependencies.clients);
  const slaves = connectSlaves(options.slaves, dependencies.clients);
  const masterFacts = await readTableFacts(master.client, master.tableName, master.label);
  const slaveFacts = await Promise.all(slaves.map((slave) => readTableFacts(slave.client, slave.tableName, slaveLabel(slave))));
  slaveFacts.forEach((facts, index) => checkSameKey(masterFacts, facts, slaves[index]));
  const keyNames = masterFacts.keyNames;
  const partitionCount = options.partitions ?? partitionsFor(Math.max(masterFacts.itemCount, ...slaveFacts.map((facts) => facts.itemCount)));

  const workDir = await mkdtemp(join(options.workDir ?? tmpdir(), 'dynamo-replicator-verify-'));
  try {
    const sides: Side[] = [
      { name: 'master', label: master.label, client: master.client, tableName: master.tableName, partitions: new DigestPartitions(workDir, 'master', partitionCount), items: 0 },
      ...slaves.map((slave) => ({
        name: slave.name,
        label: slaveLabel(slave),
        client: slave.client,
        tableName: slave.tableName,
        partitions: new DigestPartitions(workDir, `slave-${slave.name}`, partitionCount),
        items: 0,
      })),
    ];
    const progress = new Progress({
      output: dependencies.stderr,
      verb: 'scanned',
      expected: masterFacts.itemCount + slaveFacts.reduce((sum, facts) => sum + facts.itemCount, 0),
      now,
    });
    if (options.progress) progress.start();
    try {
      await Promise.all(sides.map((side) => scanSide(side, keyNames, options, dependencies.signal, (count) => progress.add(count))));
    } finally {
      await Promise.all(sides.map((side) => side.partitions.close()));
      progress.stop();
    }
    const [masterSide, ...slaveSides] = sides;
    if (masterSide === undefined) throw new Error('unreachable: the master side is always first');
    if (dependencies.signal.aborted) {
      return summarize(options, master.tableName, master.region, masterSide.items, [], partitionCount, true, now() - started);
    }
    const verdicts: SlaveVerdict[] = [];
    for (const [index, slave] of slaves.entries()) {
      const side = slaveSides[index];
      if (side === undefined) continue;
      verdicts.push(await compareSlave(master, slave, masterSide, side, options));
    }
    return summarize(options, master.tableName, master.region, masterSide.items, verdicts, partitionCount, dependencies.signal.aborted, now() - started);
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

function summarize(
  options: VerifyOptions,
  table: string,
  region: string,
  masterItems: number,
  slaves: SlaveVerdict[],
  partitions: number,
  interrupted: boolean,
  durationMs: number,
): VerifySummary {
  return {
    table,
    region,
    masterItems,
    slaves,
    equal: !interrupted && slaves.length > 0 && slaves.every((slave) => slave.equal),
    repair: options.repair,
    partitions,
    interrupted,
    durationMs,
  };
}

function checkSameKey(master: TableFacts, slave: TableFacts, target: SlaveTarget | undefined): void {
  if (master.keyNames.join(',') !== slave.keyNames.join(',')) {
    throw new MasterTableError(
      `${target === undefined ? slave.tableName : slaveLabel(target)} has key (${slave.keyNames.join(', ')}) but the master has (${master.keyNames.join(', ')}): they cannot be compared item by item`,
    );
  }
}

async function scanSide(side: Side, keyNames: readonly string[], options: VerifyOptions, signal: AbortSignal, onItems: (count: number) => void): Promise<void> {
  const bucket = options.rate === undefined ? undefined : new TokenBucket(options.rate, Math.max(1, options.rate / 5));
  const pageSize = options.rate === undefined ? options.pageSize : Math.max(1, Math.min(options.pageSize, Math.floor(options.rate / 5)));
  const queue = Array.from({ length: options.segments }, (_, segment) => segment);
  const worker = async (): Promise<void> => {
    for (let segment = queue.shift(); segment !== undefined && !signal.aborted; segment = queue.shift()) {
      const pages = scanSegment({ client: side.client, tableName: side.tableName, label: side.label, segment, totalSegments: options.segments, consistentRead: false, pageSize, signal });
      for await (const page of pages) {
        await bucket?.take(page.items.length);
        await side.partitions.add(page.items.map((item) => ({ keyId: keyIdentity(item, keyNames), digest: itemDigest(item) })));
        side.items += page.items.length;
        onItems(page.items.length);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.workers, options.segments) }, worker));
}

async function compareSlave(master: ReturnType<typeof connectMaster>, slave: SlaveTarget, masterSide: Side, slaveSide: Side, options: VerifyOptions): Promise<SlaveVerdict> {
  const counts: Record<DriftKind, number> = { missing: 0, extra: 0, different: 0 };
  const samples: Record<DriftKind, SampleKey[]> = { missing: [], extra: [], different: [] };
  const errors: string[] = [];
  let settled = 0;
  let unreadable = 0;
  let repaired = 0;
  let unrepaired = 0;

  const settle = async (suspects: string[]): Promise<void> => {
    const outcome = await recheckDifferences(master, slave, suspects, {
      attempts: options.recheckAttempts,
      delayMs: options.recheckDelayMs,
      concurrency: options.writeConcurrency,
    });
    settled += outcome.settled;
    unreadable += outcome.unreadable.size;
    for (const message of outcome.unreadable.values()) if (errors.length < options.samples) errors.push(message);
    for (const [keyId, { kind }] of outcome.drift) {
      counts[kind] += 1;
      if (samples[kind].length < options.samples) {
        const key = keyOfIdentity(keyId);
        samples[kind].push({ key: encodeKey(key), text: describeKey(key) });
      }
    }
    if (options.repair && outcome.drift.size > 0) {
      const repair = await repairDrift(master, slave, outcome.drift, { attempts: options.repairAttempts, concurrency: options.writeConcurrency });
      repaired += repair.repaired;
      unrepaired += repair.unrepaired.size;
      for (const message of repair.unrepaired.values()) if (errors.length < options.samples) errors.push(message);
    }
  };

  for (let partition = 0; partition < masterSide.partitions.count; partition += 1) {
    const onMaster = new Map<string, string>();
    for await (const { keyId, digest } of masterSide.partitions.read(partition)) onMaster.set(keyId, digest);
    let suspects: string[] = [];
    const flush = async (): Promise<void> => {
      if (suspects.length === 0) return;
      const group = suspects;
      suspects = [];
      await settle(group);
    };
    for await (const { keyId, digest } of slaveSide.partitions.read(partition)) {
      const masterDigest = onMaster.get(keyId);
      // What the slave has and the master has not is extra; a master key met here is ticked off by deleting it.
      if (masterDigest !== digest) suspects.push(keyId);
      onMaster.delete(keyId);
      if (suspects.length >= RECHECK_GROUP) await flush();
    }
    for (const keyId of onMaster.keys()) {
      suspects.push(keyId);
      if (suspects.length >= RECHECK_GROUP) await flush();
    }
    await flush();
  }

  const drift = counts.missing + counts.extra + counts.different;
  return {
    name: slave.name,
    table: slave.tableName,
    region: slave.region,
    items: slaveSide.items,
    ...counts,
    settled,
    unreadable,
    repaired,
    unrepaired,
    samples,
    errors,
    equal: unreadable === 0 && (options.repair ? unrepaired === 0 : drift === 0),
  };
}
