import { describeKey } from '../attribute-value';
import { readCurrentItems } from '../item-reader';
import { sleep } from '../retry';
import { Deadline } from '../timing';
import type { ClientProvider } from '../clients';
import { slaveLabel, type SlaveTarget } from '../slave-writer';
import { StateStore } from '../state-store';
import type { AttributeMap, SlaveConfig } from '../types';
import { canonicalItem, keyOfIdentity } from './item-digest';
import type { MasterLocation } from './options';
import { drainNow, parkKeys } from './park-keys';
import type { MasterTarget } from './tables';

/** How a slave item differs from its master item. */
export type DriftKind = 'missing' | 'extra' | 'different';

/** A key whose slave item differs from the master's, as last read with strongly consistent reads of both. */
export interface Drift {
  readonly kind: DriftKind;
  /** The master's item as last read; null when the master does not hold the key. */
  readonly masterItem: AttributeMap | null;
}

/** What strongly consistent reads made of a list of suspected differences. */
export interface RecheckOutcome {
  /** Keys that still differed on the last attempt. */
  readonly drift: Map<string, Drift>;
  /** Keys found equal on a re-read: a change still in flight when the tables were scanned. */
  readonly settled: number;
  /** Keys that could not be read on either side, with the last error. */
  readonly unreadable: Map<string, string>;
}

export interface RecheckOptions {
  readonly attempts: number;
  /** The first pause; each further pause doubles, until `windowMs` has passed since the first read. */
  readonly delayMs: number;
  readonly windowMs: number;
  readonly concurrency: number;
  /** Top-level attributes left out of the comparison. */
  readonly ignored: ReadonlySet<string>;
}

/** Time a group of strongly consistent reads may spend, retries included. */
const READ_TIMEOUT_MS = 5 * 60_000;

/**
 * Reads each suspected difference again on both sides, strongly consistently, up to `attempts` times, pausing
 * `delayMs`, then twice as long each time, for as long as `windowMs` allows: a change the scan caught half-way
 * (written on the master, not yet replicated) settles within the replication lag and is not called drift. A key is
 * drift only if it differs on every attempt.
 */
export async function recheckDifferences(master: MasterTarget, slave: SlaveTarget, keyIds: readonly string[], options: RecheckOptions): Promise<RecheckOutcome> {
  let pending = [...keyIds];
  const drift = new Map<string, Drift>();
  const unreadable = new Map<string, string>();
  let settled = 0;
  const started = Date.now();
  for (let attempt = 0; attempt < options.attempts && pending.length > 0; attempt += 1) {
    if (attempt > 0) {
      const left = started + options.windowMs - Date.now();
      if (left <= 0) break;
      await sleep(Math.min(left, options.delayMs * 2 ** (attempt - 1)));
    }
    const read = await readBothSides(master, slave, pending, options.concurrency);
    const stillPending: string[] = [];
    for (const keyId of pending) {
      const state = read.get(keyId);
      if (state === undefined) continue;
      if ('error' in state) {
        unreadable.set(keyId, state.error);
        stillPending.push(keyId);
        continue;
      }
      unreadable.delete(keyId);
      const kind = compareStates(state.master, state.slave, options.ignored);
      if (kind === undefined) {
        drift.delete(keyId);
        settled += 1;
      } else {
        drift.set(keyId, { kind, masterItem: state.master });
        stillPending.push(keyId);
      }
    }
    pending = stillPending;
  }
  for (const keyId of unreadable.keys()) drift.delete(keyId);
  return { drift, settled, unreadable };
}

/** What `--repair` did for one slave. */
export interface RepairOutcome {
  readonly repaired: number;
  /** Keys still different after the repair, with the reason. */
  readonly unrepaired: Map<string, string>;
}

/**
 * Repairs drifting keys through the replicator: each is parked for the slave as "read the master" and the drain
 * applies the master's current item, in order with the live path's writes (see `parkKeys`), so no repair write can
 * land after a newer replicated one. Then both sides are read again: a key still different is reported.
 */
export async function repairDrift(
  master: MasterTarget & { readonly location: MasterLocation },
  slave: SlaveTarget & { readonly config: SlaveConfig },
  drift: ReadonlyMap<string, Drift>,
  options: { readonly stateTable: string; readonly concurrency: number; readonly clients: ClientProvider; readonly recheck: RecheckOptions },
): Promise<RepairOutcome> {
  const store = new StateStore(master.client, options.stateTable, { concurrency: options.concurrency });
  const keys = [...drift.keys()].map((keyId) => ({ keyId, key: keyOfIdentity(keyId), sequenceNumber: '0', createdAtMs: Date.now() }));
  await parkKeys(store, slave.config, keys, 'verify --repair', Date.now);
  const drained = await drainNow(master.location, [slave.config], options.stateTable, options.concurrency, options.clients, Date.now);
  const unrepaired = new Map<string, string>();
  const left = drained.pending[slave.config.name] ?? 0;
  const confirm = await recheckDifferences(master, slave, [...drift.keys()], options.recheck);
  for (const [keyId, { kind }] of confirm.drift) unrepaired.set(keyId, `still ${kind} after the repair${left > 0 ? ` (${left} changes still parked for the slave: ${drained.slaves[slave.config.name]?.errors[0] ?? 'the scheduled drain goes on'})` : ''}`);
  for (const [keyId, error] of confirm.unreadable) unrepaired.set(keyId, error);
  return { repaired: drift.size - unrepaired.size, unrepaired };
}

type SideStates = { readonly master: AttributeMap | null; readonly slave: AttributeMap | null } | { readonly error: string };

async function readBothSides(master: MasterTarget, slave: SlaveTarget, keyIds: readonly string[], concurrency: number): Promise<Map<string, SideStates>> {
  const keys = new Map(keyIds.map((keyId) => [keyId, keyOfIdentity(keyId)]));
  const deadline = new Deadline(Date.now() + READ_TIMEOUT_MS);
  try {
    // readCurrentItems is the engine's strongly consistent BatchGetItem with retries; it reads a slave just as well.
    const [onMaster, onSlave] = await Promise.all([
      readCurrentItems(master.client, master.tableName, keys, { concurrency, deadline, label: master.label }),
      readCurrentItems(slave.client, slave.tableName, keys, { concurrency, deadline, label: slaveLabel(slave) }),
    ]);
    const states = new Map<string, SideStates>();
    for (const [keyId, key] of keys) {
      const error = onMaster.failed.get(keyId)?.message ?? onSlave.failed.get(keyId)?.message;
      const masterItem = onMaster.items.get(keyId);
      const slaveItem = onSlave.items.get(keyId);
      if (error !== undefined || masterItem === undefined || slaveItem === undefined) {
        states.set(keyId, { error: error ?? `no answer for key ${describeKey(key)}` });
      } else {
        states.set(keyId, { master: masterItem, slave: slaveItem });
      }
    }
    return states;
  } finally {
    deadline.release();
  }
}

/** How the slave's item differs from the master's, or undefined when they are equal (or both absent). */
export function compareStates(masterItem: AttributeMap | null, slaveItem: AttributeMap | null, ignored: ReadonlySet<string> = new Set()): DriftKind | undefined {
  if (masterItem === null) return slaveItem === null ? undefined : 'extra';
  if (slaveItem === null) return 'missing';
  return canonicalItem(masterItem, ignored) === canonicalItem(slaveItem, ignored) ? undefined : 'different';
}
