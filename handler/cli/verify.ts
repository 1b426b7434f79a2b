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
  /** The share of the master compared, when sampled; extra items on a slave are then not looked for. */
  readonly sample: number | null;
  /** Read capacity units the scans were estimated to cost, as printed before they started. */
  readonly estimatedReadUnits: number;
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
  const segments = sampledSegments(options);
  const estimatedReadUnits = readUnitsOf(options, masterFacts, slaveFacts, segments.length);
  dependencies.stderr.write(
    `verify will read about ${estimatedReadUnits.toLocaleString('en-US')} read capacity units: ${options.sample === undefined ? 'a full eventually consistent scan of the master and every slave' : `${segments.length} of ${options.segments} scan segments of the master, and its items read by key from each slave`} (from DynamoDB's size estimates), plus strongly consistent re-reads of each difference\n`,
  );

  const workDir = await mkdtemp(join(options.workDir ?? tmpdir(), 'dynamo-replicator-verify-'));
  try {
    const sides: Side[] = [
      { name: 'master', label: master.label, client: master.client, tableName: master.tableName, partitions: new DigestPartitions(workDir, 'master', partitionCount), items: 0 },
      ...(options.sample === undefined ? slaves : []).map((slave) => ({
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
      await Promise.all(sides.map((side) => scanSide(side, keyNames, options, side.name === 'master' ? segments : allSegments(options), dependencies.signal, (count) => progress.add(count))));
    } finally {
      await Promise.all(sides.map((side) => side.partitions.close()));
      progress.stop();
    }
    const [masterSide, ...slaveSides] = sides;
    if (masterSide === undefined) throw new Error('unreachable: the master side is always first');
    const finish = (verdicts: SlaveVerdict[], interrupted: boolean): VerifySummary =>
      summarize(options, master.tableName, master.region, masterSide.items, verdicts, partitionCount, interrupted, now() - started, estimatedReadUnits);
    if (dependencies.signal.aborted) return finish([], true);
    const verdicts: SlaveVerdict[] = [];
    for (const [index, slave] of slaves.entries()) {
      const config = options.slaves[index];
      if (config === undefined) continue;
      const side = options.sample === undefined ? slaveSides[index] : undefined;
      verdicts.push(await compareSlave({ ...master, location: options.master }, { ...slave, config }, masterSide, side, options, dependencies.clients));
    }
    return finish(verdicts, dependencies.signal.aborted);
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
  estimatedReadUnits: number,
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
    sample: options.sample ?? null,
    estimatedReadUnits,
  };
}

function allSegments(options: VerifyOptions): number[] {
  return Array.from({ length: options.segments }, (_, segment) => segment);
}

/** With `--sample`, that share of the scan segments, spread evenly (at least one); otherwise all of them. */
function sampledSegments(options: VerifyOptions): number[] {
  if (options.sample === undefined) return allSegments(options);
  const count = Math.max(1, Math.ceil(options.sample * options.segments));
  return Array.from({ length: count }, (_, index) => Math.floor((index * options.segments) / count));
}

/**
 * What the scans cost: an eventually consistent read costs half a unit per 4 KB, and a Scan is billed on the size of
 * the items it reads. A sample reads its share of the master, then the same items strongly consistently, by key,
 * from each slave (one unit per 4 KB, at least one an item).
 */
function readUnitsOf(options: VerifyOptions, master: TableFacts, slaves: readonly TableFacts[], segmentsRead: number): number {
  const scanUnits = (facts: TableFacts, share: number): number => Math.ceil((facts.sizeBytes * share) / 4096 / 2);
  if (options.sample === undefined) return scanUnits(master, 1) + slaves.reduce((sum, facts) => sum + scanUnits(facts, 1), 0);
  const share = segmentsRead / options.segments;
  const averageItemBytes = master.itemCount > 0 ? master.sizeBytes / master.itemCount : 1024;
  return scanUnits(master, share) + slaves.length * Math.ceil(master.itemCount * share) * Math.max(1, Math.ceil(averageItemBytes / 4096));
}

function checkSameKey(master: TableFacts, slave: TableFacts, target: SlaveTarget | undefined): void {
  if (master.keyNames.join(',') !== slave.keyNames.join(',')) {
    throw new MasterTableError(
      `${target === undefined ? slave.tableName : slaveLabel(target)} has key (${slave.keyNames.join(', ')}) but the master has (${master.keyNames.join(', ')}): they cannot be compared item by item`,
    );
  }
}

async function scanSide(side: Side, keyNames: readonly string[], options: VerifyOptions, segments: readonly number[], signal: AbortSignal, onItems: (count: number) => void): Promise<void> {
  const bucket = options.rate === undefined ? undefined : new TokenBucket(options.rate, Math.max(1, options.rate / 5));
  const pageSize = options.rate === undefined ? options.pageSize : Math.max(1, Math.min(options.pageSize, Math.floor(options.rate / 5)));
  const ignored = new Set(options.ignoreAttributes);
  const queue = [...segments];
  const worker = async (): Promise<void> => {
    for (let segment = queue.shift(); segment !== undefined && !signal.aborted; segment = queue.shift()) {
      const pages = scanSegment({ client: side.client, tableName: side.tableName, label: side.label, segment, totalSegments: options.segments, consistentRead: false, pageSize, signal });
      for await (const page of pages) {
        await bucket?.take(page.items.length);
        await side.partitions.add(page.items.map((item) => ({ keyId: keyIdentity(item, keyNames), digest: itemDigest(item, ignored) })));
        side.items += page.items.length;
        onItems(page.items.length);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.workers, segments.length) }, worker));
}

/**
 * Compares one slave with the master, partition by partition. Without a scan of the slave (`--sample`), every sampled
 * master key is read from the slave by key instead.
 */
async function compareSlave(
  master: ReturnType<typeof connectMaster> & { readonly location: VerifyOptions['master'] },
  slave: SlaveTarget & { readonly config: VerifyOptions['slaves'][number] },
  masterSide: Side,
  slaveSide: Side | undefined,
  options: VerifyOptions,
  clients: ClientProvider,
): Promise<SlaveVerdict> {
  const recheck = { attempts: options.recheckAttempts, delayMs: options.recheckDelayMs, windowMs: options.recheckWindowMs, concurrency: options.writeConcurrency, ignored: new Set(options.ignoreAttributes) };
  const counts: Record<DriftKind, number> = { missing: 0, extra: 0, different: 0 };
  const samples: Record<DriftKind, SampleKey[]> = { missing: [], extra: [], different: [] };
  const errors: string[] = [];
  let settled = 0;
  let unreadable = 0;
  let repaired = 0;
  let unrepaired = 0;

  const settle = async (suspects: string[]): Promise<void> => {
    const outcome = await recheckDifferences(master, slave, suspects, recheck);
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
    if (options.repair && options.stateTable !== undefined && outcome.drift.size > 0) {
      const repair = await repairDrift(master, slave, outcome.drift, { stateTable: options.stateTable, concurrency: options.writeConcurrency, clients, recheck });
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
    for await (const { keyId, digest } of slaveSide?.partitions.read(partition) ?? noItems()) {
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
    items: slaveSide?.items ?? settled + counts.different,
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

async function* noItems(): AsyncGenerator<{ keyId: string; digest: string }> {
  // A sampled verify reads no slave partition: every master key of the partition becomes a suspect.
}
