/**
 * What per-slave isolation promises, each against a baseline measured in the same run:
 * - the drain applies a slave's parked changes not much slower than the engine's raw limit, and faster than the live
 *   stream parks them, so a slave that comes back catches up; the next drain run deletes what it applied;
 * - a healthy slave replicates during another slave's outage about as fast as with no outage.
 * The outage is a fault proxy answering every BatchWriteItem with 503. It stands only where the outage is: the drain
 * and the runs without an outage reach the engine directly, so the proxy's own work (in this process) is never
 * counted against the replicator.
 */
import { DEFAULTS } from '../handler/config';
import type { DynamoDbLocal } from '../test/support/dynamodb-local';
import { FaultKind, startFaultProxy } from '../test/support/fault-proxy';
import { contextWith, loadBundle, quietly, replicate, type Bundle } from './bundle';
import { countItems, dropTable, freshStateTable, freshTable, RAW_CONCURRENCIES, RawLimit } from './engine';
import { median, ScenarioRows, timed } from './report';
import { batchesOf, syntheticRecords, writesOf, wrongItems } from './synthetic';

export interface IsolationSettings {
  readonly batchSize: number;
  readonly rounds: number;
  /** The engine of the master's region, holding the state table. */
  readonly masterEngine: DynamoDbLocal;
}

/** Function time each drain invocation gets: the module's default `drain_timeout` (300 s). */
const DRAIN_TIMEOUT_MS = 300_000;

/** The slave budget the bundle runs with: its default unless REPLICATOR_SLAVE_BUDGET_MS is set. */
const BUDGET = `${Number(process.env.REPLICATOR_SLAVE_BUDGET_MS ?? DEFAULTS.slaveBudgetMs) / 1000} s`;

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

/** Runs the bundle's drain, invocation after invocation as its schedule would, until the slave has nothing parked. */
async function drainUntilLive(bundle: Bundle, slave: string): Promise<number> {
  return quietly(async () => {
    for (let invocations = 1; ; invocations += 1) {
      const { pending } = await bundle.drain({}, contextWith(DRAIN_TIMEOUT_MS));
      const left = pending[slave];
      if (left === 0) return invocations;
      if (left === undefined || left < 0 || invocations >= 20) throw new Error(`the drain left ${JSON.stringify(pending)} after ${invocations} invocations`);
    }
  });
}

/**
 * Drain rate: `changes` changes parked for a slave during an outage, then drained until none is pending, in
 * `rounds` rounds. Each round measures the raw limit of the slave's engine before and after (the better is the
 * limit), and the stream path's rate while the slave is parked (the live parking rate the drain must outpace).
 */
export async function drainScenario(changes: number, slaveEngine: DynamoDbLocal, settings: IsolationSettings): Promise<ScenarioRows> {
  const { records, finalState } = syntheticRecords({ records: changes, keys: changes, deleteShare: 0.05, seed: 6 });
  const [firstBatch, ...rest] = batchesOf(records, settings.batchSize);
  if (firstBatch === undefined || rest.length === 0) throw new Error('the drain scenario needs at least two batches');
  const parkedLive = records.length - firstBatch.Records.length;
  const raw = new RawLimit([slaveEngine], writesOf(records));
  const proxy = await startFaultProxy({ target: slaveEngine.endpoint });
  const timings = { raw: [] as number[], firstBatch: [] as number[], parking: [] as number[], drain: [] as number[], cleanup: [] as number[] };
  const ratios = { drainToRaw: [] as number[], drainToParking: [] as number[], parkingToRaw: [] as number[], cleanupToRaw: [] as number[] };
  let deleted = 0;
  let wrong = 0;
  let invocations = 0;
  try {
    for (let round = 0; round < settings.rounds; round += 1) {
      const before = await raw.measure();

      const [slaveTable, stateTable] = await Promise.all([freshTable(slaveEngine, 'parked-slave'), freshStateTable(settings.masterEngine)]);
      proxy.failRandomly(FaultKind.SERVICE_UNAVAILABLE, 1);
      const outage = await loadBundle({ slaves: { s: { region: 'eu-west-1', table_name: slaveTable, endpoint: proxy.endpoint } }, masterEngine: settings.masterEngine, stateTable });
      // The first batch waits out the slave's budget and parks it; every later one is parked at once.
      const [firstSeconds = 0] = await replicate(outage, [firstBatch]);
      const parkingSeconds = sum(await replicate(outage, rest));
      proxy.clearFaults();

      // The outage is over: the drain reaches the slave's engine itself.
      const recovered = await loadBundle({ slaves: { s: { region: 'eu-west-1', table_name: slaveTable, endpoint: slaveEngine.endpoint } }, masterEngine: settings.masterEngine, stateTable });
      let drainInvocations = 0;
      const drainSeconds = await timed(async () => (drainInvocations = await drainUntilLive(recovered, 's')));
      invocations = Math.max(invocations, drainInvocations);
      wrong = Math.max(wrong, await wrongItems(slaveEngine, slaveTable, finalState));
      // The next run of the schedule deletes what the catch-up applied; only the slave's state item is left.
      const kept = await countItems(settings.masterEngine, stateTable);
      const cleanupSeconds = await timed(() => quietly(() => recovered.drain({}, contextWith(DRAIN_TIMEOUT_MS))));
      const left = await countItems(settings.masterEngine, stateTable);
      if (left !== 1) throw new Error(`the drain after the catch-up left ${left} items in the state table, not just the slave's state`);
      deleted = kept - left;
      await Promise.all([dropTable(slaveEngine, slaveTable), dropTable(settings.masterEngine, stateTable)]);

      const limit = Math.min(before, await raw.measure());
      const rawRate = records.length / limit;
      const drainRate = finalState.size / drainSeconds;
      const parkingRate = parkedLive / parkingSeconds;
      timings.raw.push(limit);
      timings.firstBatch.push(firstSeconds);
      timings.parking.push(parkingSeconds);
      timings.drain.push(drainSeconds);
      timings.cleanup.push(cleanupSeconds);
      ratios.cleanupToRaw.push(deleted / cleanupSeconds / rawRate);
      ratios.drainToRaw.push(drainRate / rawRate);
      ratios.drainToParking.push(drainRate / parkingRate);
      ratios.parkingToRaw.push(parkingRate / rawRate);
    }
  } finally {
    await proxy.stop();
  }
  const rows = new ScenarioRows(`drain: ${finalState.size} changes parked for 1 slave`);
  rows.add(`raw BatchWriteItem of the same writes, ${raw.concurrency} calls at once (best of ${RAW_CONCURRENCIES.join('/')}: engine limit)`, records.length, 'items/s', timings.raw, { toRaw: timings.raw.map(() => 1) });
  rows.add(
    `stream path while the slave is parked (batches 2-${rest.length + 1}; the first batch of the outage took ${median(timings.firstBatch).toFixed(1)} s: the ${BUDGET} slave budget)`,
    parkedLive,
    'records/s',
    timings.parking,
    { toRaw: ratios.parkingToRaw },
  );
  rows.add(`bundle's drain until pending is 0 (${invocations} invocation${invocations === 1 ? '' : 's'} of ${DRAIN_TIMEOUT_MS / 1000} s)`, finalState.size, 'items/s', timings.drain, { toRaw: ratios.drainToRaw, other: { ratios: ratios.drainToParking, against: 'the live parking rate' } }, wrong);
  rows.add(`the next drain run, the slave live: deletes the ${deleted} drained items from the state table`, deleted, 'items/s', timings.cleanup, { toRaw: ratios.cleanupToRaw });
  return rows;
}

/**
 * A healthy slave during another's outage: two slaves in two engines, the stream path's rate with no outage and
 * with the second slave down from the start (parked after its first batch). The runs alternate, no outage first
 * and last, and each outage run is compared with the better of the runs either side of it.
 */
export async function outageScenario(recordCount: number, engines: readonly [DynamoDbLocal, DynamoDbLocal], settings: IsolationSettings): Promise<ScenarioRows> {
  const { records, finalState } = syntheticRecords({ records: recordCount, keys: recordCount, deleteShare: 0.05, seed: 7 });
  const batches = batchesOf(records, settings.batchSize);
  const later = records.length - (batches[0]?.Records.length ?? 0);
  const [healthyEngine, sickEngine] = engines;
  const proxy = await startFaultProxy({ target: sickEngine.endpoint });
  proxy.failRandomly(FaultKind.SERVICE_UNAVAILABLE, 1);
  const healthy: { whole: number; later: number; firstBatch: number }[] = [];
  const sick: { whole: number; later: number; firstBatch: number }[] = [];
  let wrongHealthy = 0;
  let wrongBoth = 0;

  const run = async (outage: boolean): Promise<void> => {
    const [healthyTable, secondTable, stateTable] = await Promise.all([freshTable(healthyEngine, 'healthy'), freshTable(sickEngine, outage ? 'down' : 'second'), freshStateTable(settings.masterEngine)]);
    const bundle = await loadBundle({
      slaves: {
        healthy: { region: 'eu-west-1', table_name: healthyTable, endpoint: healthyEngine.endpoint },
        second: { region: 'eu-central-1', table_name: secondTable, endpoint: outage ? proxy.endpoint : sickEngine.endpoint },
      },
      masterEngine: settings.masterEngine,
      stateTable,
    });
    const seconds = await replicate(bundle, batches);
    (outage ? sick : healthy).push({ whole: records.length / sum(seconds), later: later / sum(seconds.slice(1)), firstBatch: seconds[0] ?? 0 });
    const wrong = await wrongItems(healthyEngine, healthyTable, finalState);
    if (outage) wrongHealthy = Math.max(wrongHealthy, wrong);
    else wrongBoth = Math.max(wrongBoth, wrong + (await wrongItems(sickEngine, secondTable, finalState)));
    await Promise.all([dropTable(healthyEngine, healthyTable), dropTable(sickEngine, secondTable), dropTable(settings.masterEngine, stateTable)]);
  };

  try {
    await run(false);
    for (let round = 0; round < settings.rounds; round += 1) {
      await run(true);
      await run(false);
    }
  } finally {
    await proxy.stop();
  }
  const pairs = sick.map((outage, i) => {
    const before = healthy[i];
    const after = healthy[i + 1];
    if (before === undefined || after === undefined) throw new Error('an outage run without the runs either side of it');
    return { whole: outage.whole / Math.max(before.whole, after.whole), later: outage.later / Math.max(before.later, after.later) };
  });
  const secondsOf = (rates: readonly number[], count: number): number[] => rates.map((rate) => count / rate);
  const rows = new ScenarioRows('2 slaves (2 engines), the second down (503)');
  rows.add(`no outage: both slaves live (bundle, batches of ${settings.batchSize})`, records.length, 'records/s', secondsOf(healthy.map((r) => r.whole), records.length), {}, wrongBoth);
  rows.add(
    `second slave down from the start, after it is parked (batches 2-${batches.length})`,
    later,
    'records/s',
    secondsOf(sick.map((r) => r.later), later),
    { other: { ratios: pairs.map((p) => p.later), against: 'no outage, same batches' } },
    wrongHealthy,
  );
  rows.add(
    `second slave down from the start, whole run (its first batch took ${median(sick.map((r) => r.firstBatch)).toFixed(1)} s: the ${BUDGET} slave budget)`,
    records.length,
    'records/s',
    secondsOf(sick.map((r) => r.whole), records.length),
    { other: { ratios: pairs.map((p) => p.whole), against: 'no outage' } },
    wrongHealthy,
  );
  return rows;
}
