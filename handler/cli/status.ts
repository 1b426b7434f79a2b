import type { ClientProvider } from '../clients';
import { ConfigurationError } from '../errors';
import { copyReadiness } from '../initial-copy';
import { StateStore, type CopyCheckpoint } from '../state-store';
import { Deadline } from '../timing';
import type { StateOptions } from './options';
import { formatDuration } from './progress';
import { readTableFacts } from './table-facts';
import { connectMaster } from './tables';

/** Calls of one status run may take this long in all. */
const STATUS_TIMEOUT_MS = 5 * 60_000;

/** A slave's initial copy, from its checkpoints in the state table. */
export interface CopyProgress {
  readonly state: 'pending' | 'done';
  readonly totalSegments: number;
  readonly segmentsDone: number;
  readonly items: number;
  /** Items a second since the copy's first page, or null before it. */
  readonly itemsPerSecond: number | null;
  /** Seconds left at that rate, from the master's item count (DynamoDB's estimate); null when unknown. */
  readonly etaSeconds: number | null;
}

/** One slave as `status` shows it. */
export interface SlaveStatus {
  readonly name: string;
  readonly table: string;
  readonly region: string;
  readonly mode: 'live' | 'parked';
  /** Parked changes waiting for the drain. */
  readonly pending: number;
  /** Age of the oldest parked change (at most the time since the slave was parked), 0 when live. */
  readonly oldestParkedAgeSeconds: number;
  readonly reason: string | null;
  readonly copy: CopyProgress | null;
}

export interface StatusSummary {
  readonly table: string;
  readonly stateTable: string;
  readonly slaves: readonly SlaveStatus[];
  /** Records the function could not apply at all, kept for `redrive --rejected`. */
  readonly rejectedRecords: number;
}

/** Reads each slave's mode, parked changes and copy progress from the state table. */
export async function runStatus(options: StateOptions, dependencies: { clients: ClientProvider; now?: () => number }): Promise<StatusSummary> {
  const now = dependencies.now ?? Date.now;
  const master = connectMaster(options.master, dependencies.clients);
  const store = new StateStore(master.client, options.stateTable, { concurrency: options.writeConcurrency, now });
  const deadline = new Deadline(now() + STATUS_TIMEOUT_MS);
  try {
    const states = await store.readSlaveStates(options.slaves, deadline);
    const masterItems = options.slaves.some((slave) => slave.initialCopy === true) ? (await readTableFacts(master.client, master.tableName, master.label)).itemCount : 0;
    const slaves = await Promise.all(
      options.slaves.map(async (slave): Promise<SlaveStatus> => {
        const state = states.get(slave.name);
        // A new slave without a state yet is parked from the stream function's first batch with it.
        const mode = slave.initialCopy === true && state?.exists !== true ? 'parked' : (state?.mode ?? 'live');
        const copyState = state?.copy ?? (slave.initialCopy === true && state?.exists !== true ? 'pending' : undefined);
        return {
          name: slave.name,
          table: slave.tableName,
          region: slave.region,
          mode,
          pending: mode === 'parked' && state !== undefined ? await store.countParked(slave.name, state, deadline) : 0,
          oldestParkedAgeSeconds: mode === 'parked' && state?.parkedSince !== undefined ? Math.max(0, Math.round((now() - state.parkedSince) / 1000)) : 0,
          reason: state?.reason ?? null,
          copy: copyState === undefined ? null : copyProgress(copyState, await store.copyCheckpoints(slave.name, deadline), masterItems, now()),
        };
      }),
    );
    return { table: master.tableName, stateTable: options.stateTable, slaves, rejectedRecords: (await store.rejectedRecords(deadline)).length };
  } finally {
    deadline.release();
  }
}

function copyProgress(state: 'pending' | 'done', checkpoints: readonly CopyCheckpoint[], masterItems: number, now: number): CopyProgress {
  const totalSegments = Math.max(0, ...checkpoints.map((checkpoint) => checkpoint.totalSegments));
  const current = checkpoints.filter((checkpoint) => checkpoint.totalSegments === totalSegments);
  const items = current.reduce((sum, checkpoint) => sum + checkpoint.items, 0);
  const started = Math.min(...current.map((checkpoint) => checkpoint.startedAt));
  const elapsedMs = Number.isFinite(started) ? now - started : 0;
  const itemsPerSecond = elapsedMs > 0 && items > 0 ? Math.round((items * 1000) / elapsedMs) : null;
  const left = Math.max(0, masterItems - items);
  return {
    state,
    totalSegments,
    segmentsDone: current.filter((checkpoint) => checkpoint.done).length,
    items,
    itemsPerSecond,
    etaSeconds: state === 'done' ? 0 : itemsPerSecond === null || masterItems === 0 ? null : Math.round(left / itemsPerSecond),
  };
}

/**
 * Marks slaves copied whose items were copied by other means, such as an S3 export of the master imported into the
 * slave table. The same rules as a copy apply: each must be marked `initial_copy` and parked with its copy pending;
 * what it was parked for since, the drain applies next.
 */
export async function markCopied(options: StateOptions & { readonly copiedAt: number; readonly settleMs: number }, dependencies: { clients: ClientProvider; now?: () => number }): Promise<string[]> {
  const now = dependencies.now ?? Date.now;
  const master = connectMaster(options.master, dependencies.clients);
  const store = new StateStore(master.client, options.stateTable, { concurrency: options.writeConcurrency, now });
  const deadline = new Deadline(now() + STATUS_TIMEOUT_MS);
  try {
    for (const slave of options.slaves) {
      // The copy must show the master as it was after the slave had been parked for the settle time.
      const readiness = await copyReadiness(store, slave, options.settleMs, options.copiedAt, deadline);
      if (readiness.state.copy === 'done') throw new ConfigurationError(`slave "${slave.name}"`, `was marked copied already (state table ${options.stateTable})`);
      if (!readiness.ready) {
        throw new ConfigurationError(
          '--copied-at',
          `${new Date(options.copiedAt).toISOString()} is too early for slave "${slave.name}": it was parked at ${new Date(readiness.state.parkedSince ?? 0).toISOString()}, so changes before ${new Date((readiness.state.parkedSince ?? 0) + options.settleMs).toISOString()} may be in neither the copy nor the state table; export again from a later time`,
        );
      }
    }
    for (const slave of options.slaves) await store.markCopied(slave.name, deadline);
    return options.slaves.map((slave) => slave.name);
  } finally {
    deadline.release();
  }
}

/** `status` for a person. */
export function formatStatus(summary: StatusSummary): string {
  const lines = [`replication of ${summary.table} (state table ${summary.stateTable})`];
  for (const slave of summary.slaves) {
    const parked = slave.mode === 'parked' ? `PARKED  ${slave.pending.toLocaleString('en-US')} changes waiting, oldest ${formatDuration(slave.oldestParkedAgeSeconds * 1000)}` : 'LIVE';
    lines.push(`  ${slave.name} (${slave.table} in ${slave.region}): ${parked}`);
    if (slave.copy !== null) {
      const { copy } = slave;
      const rate = copy.itemsPerSecond === null ? '' : `, ${copy.itemsPerSecond.toLocaleString('en-US')} items/s`;
      const eta = copy.etaSeconds === null ? '' : `, about ${formatDuration(copy.etaSeconds * 1000)} left`;
      lines.push(
        copy.state === 'done'
          ? `    initial copy done: ${copy.items.toLocaleString('en-US')} items in ${copy.totalSegments} segments${slave.mode === 'parked' ? '; the drain is applying the changes parked meanwhile' : ''}`
          : `    initial copy: ${copy.segmentsDone} of ${copy.totalSegments || '?'} segments done, ${copy.items.toLocaleString('en-US')} items${rate}${eta}`,
      );
    }
    if (slave.mode === 'parked' && slave.reason !== null) lines.push(`    why: ${slave.reason}`);
  }
  if (summary.rejectedRecords > 0) lines.push(`${summary.rejectedRecords} stream records could not be applied at all; they are kept for npx dynamo-replicator redrive --rejected`);
  return lines.join('\n');
}
