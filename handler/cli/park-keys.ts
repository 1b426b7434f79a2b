import type { ClientProvider } from '../clients';
import { libraryConfig } from '../config';
import { drainSlaves, type DrainResult } from '../drain';
import { ReplicatorError } from '../errors';
import { StateStore, type ParkedChange } from '../state-store';
import { Deadline } from '../timing';
import type { AttributeMap, SlaveConfig } from '../types';
import type { MasterLocation } from './options';

/** The calls of one slave's parking may take this long. */
const PARK_TIMEOUT_MS = 10 * 60_000;
/** The drain that follows may take this long. */
const DRAIN_TIMEOUT_MS = 10 * 60_000;

/** Keys could not be parked; nothing was announced for them. */
export class ParkKeysError extends ReplicatorError {
  public override readonly name = 'ParkKeysError';
}

/** A key to bring level with the master, and the stream position it was named at (`'0'` when none). */
export interface KeyToBring {
  readonly keyId: string;
  readonly key: AttributeMap;
  readonly sequenceNumber: string;
  readonly createdAtMs: number;
}

/**
 * Parks keys for one slave as "read the master", under the epoch it has now, and announces them
 * (`StateStore.parkAndAnnounce`); if the slave goes live meanwhile, parks them again under its new epoch. The drain
 * then applies the master's current item of each, in order with the live path's writes: the one way the command-line
 * tool writes a slave that replication writes.
 */
export async function parkKeys(store: StateStore, slave: SlaveConfig, keys: readonly KeyToBring[], reason: string, now: () => number): Promise<void> {
  const deadline = new Deadline(now() + PARK_TIMEOUT_MS, now);
  try {
    for (;;) {
      const state = await store.readSlaveState(slave.name, deadline);
      const parkedAt = now();
      const changes: ParkedChange[] = keys.map((key) => ({ ...key, change: { kind: 'read-master' }, parkedAtMs: parkedAt, reason, epoch: state.epoch }));
      const parked = await store.parkAndAnnounce(slave.name, changes, state, { reason, startsCopy: false, markFirst: false }, deadline);
      if (parked.status === 'went-live') continue;
      const [first] = parked.notKept;
      if (first !== undefined) throw new ParkKeysError(`could not park ${parked.notKept.length} keys for slave "${slave.name}": ${first.error.message}`);
      return;
    }
  } finally {
    deadline.release();
  }
}

/** Runs the drain now, as the scheduled one would, for these slaves of the master. */
export async function drainNow(master: MasterLocation, slaves: readonly SlaveConfig[], stateTable: string, writeConcurrency: number, clients: ClientProvider, now: () => number): Promise<DrainResult> {
  return drainSlaves(
    {
      config: { ...libraryConfig(slaves), writeConcurrency, stateTable, masterTable: master.tableName, masterRegion: master.region },
      // The drain reads the master in its region; the tool may point it at an endpoint of its own.
      clients: { forSlave: (slave) => clients.forSlave(slave), forMaster: (region) => clients.forMaster(region, master.endpoint) },
      // The command reports the drain's result itself.
      telemetry: { log: () => undefined, metrics: () => undefined },
      now,
    },
    DRAIN_TIMEOUT_MS,
  );
}
