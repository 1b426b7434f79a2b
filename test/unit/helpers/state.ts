import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { keyIdentity } from '../../../handler/attribute-value';
import type { PendingWrite } from '../../../handler/fan-out';
import type { ParkedChange } from '../../../handler/state-store';
import type { AttributeMap, StreamChange, WriteRequest } from '../../../handler/types';

type Item = Record<string, AttributeValue>;

export interface SlaveItemOptions {
  readonly mode?: 'live' | 'parked';
  readonly generation?: number;
  readonly epoch?: number;
  readonly parkedSince?: number;
  readonly reason?: string;
  readonly copy?: 'pending' | 'done';
  readonly leaseOwner?: string;
  readonly bucket?: number;
  readonly drainedBelow?: number;
  readonly cleanedBelow?: number;
  /** Drain cursors by partition. */
  readonly cursors?: ReadonlyMap<number, string>;
  /** The epoch a parker marked the slave settled in. */
  readonly settledEpoch?: number;
}

/** A slave's state item as the state table holds it. */
export function slaveItem(slave: string, options: SlaveItemOptions = {}): Item {
  return {
    pk: { S: `slave#${slave}` },
    sk: { S: 'state' },
    mode: { S: options.mode ?? 'parked' },
    generation: { N: String(options.generation ?? 1) },
    epoch: { N: String(options.epoch ?? 0) },
    ...(options.parkedSince === undefined ? {} : { parked_since: { N: String(options.parkedSince) } }),
    ...(options.reason === undefined ? {} : { reason: { S: options.reason } }),
    ...(options.copy === undefined ? {} : { copy_state: { S: options.copy } }),
    ...(options.leaseOwner === undefined ? {} : { lease_owner: { S: options.leaseOwner } }),
    ...(options.bucket === undefined ? {} : { bucket: { N: String(options.bucket) } }),
    ...(options.drainedBelow === undefined ? {} : { drained_below: { N: String(options.drainedBelow) } }),
    ...(options.cleanedBelow === undefined ? {} : { cleaned_below: { N: String(options.cleanedBelow) } }),
    ...(options.settledEpoch === undefined ? {} : { settled_epoch: { N: String(options.settledEpoch) } }),
    ...Object.fromEntries([...(options.cursors ?? new Map<number, string>())].map(([partition, sk]) => [`cursor_${String(partition).padStart(2, '0')}`, { S: sk }])),
  };
}

export interface ParkedItemOptions {
  readonly value?: string;
  readonly kind?: 'put' | 'delete' | 'read-master';
  readonly seq?: string;
  readonly epoch?: number;
  readonly createdAt?: number;
  readonly parkedAt?: number;
  /** The bucket it is kept in; the slave's open bucket when absent. */
  readonly bucket?: number;
}

/** A parked change of item `pk = id` as the state table holds it (its own key left out: the drain reads none of it). */
export function parkedItem(id: string, options: ParkedItemOptions = {}): Item {
  const key = { pk: { S: id } };
  const kind = options.kind ?? 'put';
  const text = {
    kind,
    key,
    ...(kind === 'put' ? { image: { ...key, value: { S: options.value ?? 'parked' } } } : {}),
    seq: options.seq ?? '100',
    createdAt: options.createdAt ?? 1_000,
    parkedAt: options.parkedAt ?? 2_000,
    reason: 'slave unavailable',
  };
  return { epoch: { N: String(options.epoch ?? 0) }, change: { S: JSON.stringify(text) } };
}

/** What a parked item of the state table says, read from its JSON text; string values of its key and image only. */
export interface ParkedContent {
  readonly kind: string;
  /** The key's `pk`. */
  readonly id: string;
  /** The image's `value`, if it has one. */
  readonly value?: string;
  readonly seq: string;
  readonly reason: string;
  readonly epoch: string;
}

export function parkedContent(item: Item | undefined): ParkedContent {
  const text = JSON.parse(item?.change?.S ?? '{}') as { kind?: string; key?: { pk?: { S?: string } }; image?: { value?: { S?: string } }; seq?: string; reason?: string };
  const value = text.image?.value?.S;
  return { kind: text.kind ?? '', id: text.key?.pk?.S ?? '', ...(value === undefined ? {} : { value }), seq: text.seq ?? '', reason: text.reason ?? '', epoch: item?.epoch?.N ?? '' };
}

/** A parked change of item `pk = id`, as `StateStore.park` takes it. */
export function parkedChange(id: string, overrides: Partial<ParkedChange> = {}): ParkedChange {
  const key: AttributeMap = { pk: { S: id } };
  return {
    keyId: keyIdentity(key),
    key,
    change: { kind: 'put', item: { ...key, value: { S: 'v' } } },
    sequenceNumber: '100',
    createdAtMs: 1_000,
    parkedAtMs: 2_000,
    reason: 'slave unavailable',
    epoch: 0,
    ...overrides,
  };
}

let sequence = 500;

/** A write for the slaves and the stream change it comes from, as the replicator hands them to `fanOut`. */
export function pendingWrite(write: WriteRequest, overrides: Partial<StreamChange> = {}): PendingWrite {
  sequence += 1;
  const change: StreamChange = {
    eventId: `event-${sequence}`,
    sequenceNumber: String(sequence),
    keyId: write.keyId,
    key: write.key,
    change: write.kind === 'put' ? { kind: 'put', item: write.item } : { kind: 'delete' },
    createdAtMs: Date.now() - 1_000,
    isTtlDelete: false,
    ...overrides,
  };
  return { write, change };
}
