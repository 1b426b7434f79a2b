import { describeKey } from '../attribute-value';
import { readMasterItems } from '../master-reader';
import { sleep } from '../retry';
import { Deadline } from '../timing';
import { slaveLabel, writeToSlave, type SlaveTarget } from '../slave-writer';
import type { AttributeMap, WriteRequest } from '../types';
import { canonicalItem, keyOfIdentity } from './item-digest';
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
  readonly delayMs: number;
  readonly concurrency: number;
}

/** Time a group of strongly consistent reads may spend, retries included. */
const READ_TIMEOUT_MS = 5 * 60_000;

/**
 * Reads each suspected difference again on both sides, strongly consistently, up to `attempts` times with `delayMs`
 * between: a change the scan caught half-way (written on the master, not yet replicated) settles and is not called
 * drift. A key is drift only if it differs on every attempt.
 */
export async function recheckDifferences(master: MasterTarget, slave: SlaveTarget, keyIds: readonly string[], options: RecheckOptions): Promise<RecheckOutcome> {
  let pending = [...keyIds];
  const drift = new Map<string, Drift>();
  const unreadable = new Map<string, string>();
  let settled = 0;
  for (let attempt = 0; attempt < options.attempts && pending.length > 0; attempt += 1) {
    if (attempt > 0) await sleep(options.delayMs);
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
      const kind = compareStates(state.master, state.slave);
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
  /** Keys still different after every attempt, with the reason. */
  readonly unrepaired: Map<string, string>;
}

/**
 * Writes the master's current state of each drifting key to the slave (a put, or a delete where the master has no
 * item), then reads both sides again to confirm; a key that still differs (the master changed meanwhile, or a
 * replicated write landed in between) is written again from the fresh read, up to `attempts` times.
 *
 * Safe while replication runs: a repair write carries the master's state as read after every change the stream has
 * not yet delivered, so a later replicated write only moves the slave forward; and a repair write that lands after a
 * newer replicated one shows up in the confirming read as a difference and is written again.
 */
export async function repairDrift(
  master: MasterTarget,
  slave: SlaveTarget,
  drift: ReadonlyMap<string, Drift>,
  options: { readonly attempts: number; readonly concurrency: number },
): Promise<RepairOutcome> {
  let pending = new Map(drift);
  const unrepaired = new Map<string, string>();
  let repaired = 0;
  for (let attempt = 0; attempt < options.attempts && pending.size > 0; attempt += 1) {
    const writes: WriteRequest[] = [...pending].map(([keyId, { masterItem }]) => {
      const key = keyOfIdentity(keyId);
      return masterItem === null ? { kind: 'delete', keyId, key } : { kind: 'put', keyId, key, item: masterItem };
    });
    const deadline = new Deadline(Date.now() + READ_TIMEOUT_MS);
    const outcome = await writeToSlave(slave, writes, { concurrency: options.concurrency, deadline }).finally(() => deadline.release());
    for (const { write, error } of outcome.failed) unrepaired.set(write.keyId, error.message);
    const confirm = await readBothSides(master, slave, [...pending.keys()], options.concurrency);
    const next = new Map<string, Drift>();
    for (const keyId of pending.keys()) {
      const state = confirm.get(keyId);
      if (state === undefined) continue;
      if ('error' in state) {
        unrepaired.set(keyId, state.error);
        next.set(keyId, pending.get(keyId) ?? { kind: 'different', masterItem: null });
        continue;
      }
      const kind = compareStates(state.master, state.slave);
      if (kind === undefined) {
        unrepaired.delete(keyId);
        repaired += 1;
      } else {
        if (!unrepaired.has(keyId)) unrepaired.set(keyId, `still ${kind} after ${attempt + 1} repair write(s): the item is changing on the master`);
        next.set(keyId, { kind, masterItem: state.master });
      }
    }
    pending = next;
  }
  return { repaired, unrepaired };
}

type SideStates = { readonly master: AttributeMap | null; readonly slave: AttributeMap | null } | { readonly error: string };

async function readBothSides(master: MasterTarget, slave: SlaveTarget, keyIds: readonly string[], concurrency: number): Promise<Map<string, SideStates>> {
  const keys = new Map(keyIds.map((keyId) => [keyId, keyOfIdentity(keyId)]));
  const deadline = new Deadline(Date.now() + READ_TIMEOUT_MS);
  try {
    // readMasterItems is the engine's strongly consistent BatchGetItem with retries; it reads a slave just as well.
    const [onMaster, onSlave] = await Promise.all([
      readMasterItems(master.client, master.tableName, keys, { concurrency, deadline, label: master.label }),
      readMasterItems(slave.client, slave.tableName, keys, { concurrency, deadline, label: slaveLabel(slave) }),
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
export function compareStates(masterItem: AttributeMap | null, slaveItem: AttributeMap | null): DriftKind | undefined {
  if (masterItem === null) return slaveItem === null ? undefined : 'extra';
  if (slaveItem === null) return 'missing';
  return canonicalItem(masterItem) === canonicalItem(slaveItem) ? undefined : 'different';
}
