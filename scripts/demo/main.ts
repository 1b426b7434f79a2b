/**
 * `npm run demo`: replicate a live workload from a local master table to local slave
 * tables with the committed Lambda bundle, fed from the real stream by the local event
 * source mapping, then verify every slave item by item.
 */
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { existsSync } from 'node:fs';
import { compareTables, type TableComparison } from '../../test/support/compare-tables';
import { ensureDynamoDbLocal } from '../../test/support/dynamodb-local';
import type { BatchWriteObservation } from '../../test/support/fault-proxy';
import { NotCaughtUpError, StreamPoller } from '../../test/support/stream-poller';
import { OperationKind, runWorkload, WORKLOAD_KEY_ATTRIBUTE, WRITTEN_AT_ATTRIBUTE, type WorkloadResult } from '../../test/support/workload';
import { scheduleDrain } from '../../test/support/drain-schedule';
import { BUNDLE_PATH, captureOutput, loadBundledHandler, type CapturedOutput } from './bundled-handler';
import { LagTracker } from './lag';
import { OptionError, parseDemoOptions, USAGE, type DemoOptions } from './options';
import { startTopology, type Topology } from './topology';
import { formatMs, LiveView, type ViewSnapshot } from './view';

const EXIT_OK = 0;
const EXIT_DIFFERENT = 1;
const EXIT_USAGE = 2;
const EXIT_INTERRUPTED = 130;
/** After the workload, how long draining may go without progress before the demo gives up. */
const DRAIN_IDLE_TIMEOUT_MS = 60_000;
/** On Ctrl-C, how long an invocation in flight may take to finish. */
const STOP_GRACE_MS = 5_000;
/** The module runs the drain every minute; the demo, every second, so a parked slave catches up within its run. */
const DRAIN_EVERY_MS = 1_000;
const DRAIN_TIMEOUT_MS = 10_000;

/** Stop functions, run newest first: what started last depends on what started first. */
class Cleanup {
  readonly #stops: (() => Promise<void> | void)[] = [];

  add(stop: () => Promise<void> | void): void {
    this.#stops.push(stop);
  }

  async run(): Promise<void> {
    for (const stop of this.#stops.splice(0).reverse()) {
      try {
        await stop();
      } catch {
        // Shutting down: one failed stop must not keep the rest (engines) running.
      }
    }
  }
}

class Interrupted extends Error {
  override readonly name = 'Interrupted';
}

/** Counts the writes each slave's engine applied, and their lag. */
class SlaveObserver {
  readonly lag = new LagTracker();
  readonly applied = new Map<string, number>();
  /** Start time of the latest delete per key: a delete request carries no timestamp. */
  readonly deletedAt = new Map<string, number>();

  observe(slave: string, observation: BatchWriteObservation): void {
    let applied = 0;
    for (const requests of Object.values(observation.applied)) {
      for (const request of requests) {
        applied += 1;
        const writtenAt = request.PutRequest ? numberAttribute(request.PutRequest.Item[WRITTEN_AT_ATTRIBUTE]) : this.#deleteTime(request.DeleteRequest?.Key);
        if (writtenAt !== undefined) this.lag.record(slave, observation.at - writtenAt, observation.at);
      }
    }
    this.applied.set(slave, (this.applied.get(slave) ?? 0) + applied);
  }

  #deleteTime(key: Record<string, unknown> | undefined): number | undefined {
    const pk = key?.[WORKLOAD_KEY_ATTRIBUTE];
    const value = typeof pk === 'object' && pk !== null && 'S' in pk ? pk.S : undefined;
    return typeof value === 'string' ? this.deletedAt.get(value) : undefined;
  }
}

function numberAttribute(value: unknown): number | undefined {
  const n = typeof value === 'object' && value !== null && 'N' in value ? value.N : undefined;
  return typeof n === 'string' ? Number(n) : undefined;
}

function where(slave: Topology['slaves'][number]): string {
  return `${slave.region}/${slave.tableName}${slave.sharesMasterEngine ? ' (master engine)' : ''}`;
}

/** Per-second rates from successive readings of a counter. */
class Rate {
  #last = { at: Date.now(), value: 0 };
  #rate = 0;

  update(value: number, at: number): number {
    const seconds = (at - this.#last.at) / 1000;
    if (seconds >= 0.5) {
      const instant = (value - this.#last.value) / seconds;
      // Light smoothing so the figure is readable at 4 refreshes a second.
      this.#rate = this.#rate === 0 ? instant : 0.6 * instant + 0.4 * this.#rate;
      this.#last = { at, value };
    }
    return this.#rate;
  }
}

async function run(options: DemoOptions, output: CapturedOutput, cleanup: Cleanup, interrupt: AbortSignal): Promise<number> {
  const say = (text: string): void => output.write(`${text}\n`);
  const check = (): void => {
    if (interrupt.aborted) throw new Interrupted();
  };
  if (!existsSync(BUNDLE_PATH)) {
    say(`The committed bundle ${BUNDLE_PATH} is missing: run \`npm run build\` first.`);
    return EXIT_DIFFERENT;
  }

  say('Preparing DynamoDB Local (from Maven Central on the first run, cached after)...');
  const installStarted = Date.now();
  const install = await ensureDynamoDbLocal();
  say(`  DynamoDB Local ${install.version} ready in ${formatMs(Date.now() - installStarted)} (${install.dir})`);
  check();

  const engines = options.slaves;
  say(`Starting ${engines} engine${engines > 1 ? 's' : ''}, the master table and ${options.slaves} slave table${options.slaves > 1 ? 's' : ''}...`);
  const observer = new SlaveObserver();
  const topology = await startTopology({
    slaves: options.slaves,
    fault: options.fault,
    seed: options.seed,
    onCleanup: (stop) => cleanup.add(stop),
    onBatchWrite: (slave, observation) => observer.observe(slave, observation),
  });
  check();
  say(`  engines answered after ${topology.engineStartupMs.map((ms) => formatMs(ms)).join(', ')}`);
  say(`  master  ${topology.master.region}/${topology.master.tableName} (stream NEW_AND_OLD_IMAGES) at ${topology.master.endpoint}`);
  for (const slave of topology.slaves) {
    say(`  slave   ${slave.name.padEnd(5)} ${where(slave)} via ${slave.proxy.endpoint}${slave.faulty ? ', about half of its BatchWriteItem calls throttled' : ''}`);
  }

  const { handler, drain } = await loadBundledHandler({
    REPLICATOR_SLAVES: topology.slavesEnv,
    REPLICATOR_STATE_TABLE: topology.stateTable,
    REPLICATOR_MASTER_TABLE: topology.master.tableName,
    AWS_ENDPOINT_URL_DYNAMODB: topology.master.endpoint,
    AWS_REGION: topology.master.region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_LAMBDA_FUNCTION_NAME: 'dynamo-replicator-demo',
  });
  say(`  function: ${BUNDLE_PATH}; its log and metric lines go to ${output.logPath}`);
  say(`Workload: ${options.rate} writes/s for ${options.durationSeconds} s (seed ${options.seed}); batch size ${options.batchSize}`);
  say('');

  const poller = new StreamPoller({
    streams: topology.master.streams,
    streamArn: topology.master.streamArn,
    handler,
    batchSize: options.batchSize,
    region: topology.master.region,
    functionName: 'dynamo-replicator-demo',
  });
  await poller.start();
  const drains = scheduleDrain(drain, DRAIN_EVERY_MS, DRAIN_TIMEOUT_MS);
  cleanup.add(() => drains.stop());
  // An invocation in flight may be retrying a throttled slave: give it a few seconds, not
  // its whole timeout, before the engines go.
  cleanup.add(() => Promise.race([poller.stop(), new Promise((done) => setTimeout(done, STOP_GRACE_MS).unref())]).then(() => undefined));

  const started = Date.now();
  let phase = 'replicating';
  let writes = 0;
  let changes = 0;
  const workloadStop = new AbortController();
  interrupt.addEventListener('abort', () => workloadStop.abort(), { once: true });
  const workload: Promise<WorkloadResult> = runWorkload({
    client: topology.master.client,
    tableName: topology.master.tableName,
    seed: options.seed,
    rate: options.rate,
    durationMs: options.durationSeconds * 1000,
    largeItemShare: options.largeItemShare,
    // Enough writes in flight to hold the rate at ~25 ms per local write.
    concurrency: Math.min(64, Math.max(4, Math.ceil(options.rate / 40))),
    signal: workloadStop.signal,
    onOperation: (operation) => {
      writes += 1;
      if (operation.changed) changes += 1;
      if (operation.kind === OperationKind.DELETE) observer.deletedAt.set(operation.key, operation.startedAt);
    },
  });

  const view = new LiveView(output.write, !options.plain);
  const writeRate = new Rate();
  const recordRate = new Rate();
  const snapshot = (): ViewSnapshot => {
    const now = Date.now();
    const stats = poller.stats;
    return {
      elapsedSeconds: (now - started) / 1000,
      phase,
      masterWrites: writes,
      masterWritesPerSecond: writeRate.update(writes, now),
      replicated: stats.recordsAcknowledged,
      recordsPerSecond: recordRate.update(stats.recordsAcknowledged, now),
      backlog: Math.max(0, changes - stats.recordsAcknowledged),
      batches: stats.batches,
      redeliveries: stats.retries,
      slaves: topology.slaves.map((slave) => {
        const faults = slave.proxy.stats.injected;
        return {
          name: slave.name,
          where: where(slave),
          applied: observer.applied.get(slave.name) ?? 0,
          lag: observer.lag.recent(slave.name, now),
          faults: Object.values(faults).reduce((sum, n) => sum + n, 0),
          faulty: slave.faulty,
        };
      }),
    };
  };
  const refresh = setInterval(() => view.draw(snapshot()), options.plain ? 2_000 : 250);
  cleanup.add(() => {
    clearInterval(refresh);
    view.close();
  });

  const result = await workload;
  check();
  phase = 'draining';
  const drainStarted = Date.now();
  let drained: boolean;
  try {
    await Promise.race([
      poller.waitUntilCaughtUp({ idleTimeoutMs: DRAIN_IDLE_TIMEOUT_MS }),
      new Promise((_, reject) => interrupt.addEventListener('abort', () => reject(new Interrupted()), { once: true })),
    ]);
    // What a slave did not take in time was parked in the state table: caught up means the drain applied it too.
    drained = await Promise.race([
      drains.untilNothingPending(DRAIN_IDLE_TIMEOUT_MS),
      new Promise<never>((_, reject) => interrupt.addEventListener('abort', () => reject(new Interrupted()), { once: true })),
    ]);
  } catch (error) {
    if (!(error instanceof NotCaughtUpError)) throw error;
    drained = false;
  }
  const drainMs = Date.now() - drainStarted;
  const activeSeconds = (Date.now() - started) / 1000;
  phase = drained ? 'caught up' : 'NOT caught up';
  clearInterval(refresh);
  view.draw(snapshot());
  view.close();
  await poller.stop();
  check();

  say('');
  say('Verifying every slave against the master, item by item...');
  const comparisons: [Topology['slaves'][number], TableComparison][] = [];
  for (const slave of topology.slaves) {
    check();
    comparisons.push([
      slave,
      await compareTables({
        master: { client: topology.master.client, tableName: topology.master.tableName },
        slave: { client: slave.client, tableName: slave.tableName },
      }),
    ]);
  }

  const stats = poller.stats;
  say('');
  say('Summary');
  say(
    `  master    ${result.operations} writes in ${(result.durationMs / 1000).toFixed(1)} s (${result.puts} puts, ${result.updates} updates, ${result.deletes} deletes, ${result.largeItems} large items, ${result.errors} failed), ${result.changes} stream records`,
  );
  say(
    `  function  ${stats.recordsAcknowledged} records in ${stats.batches} batches, ${(stats.recordsAcknowledged / activeSeconds).toFixed(0)} records/s from the first write to caught up; ${stats.retries} re-delivered (${stats.partialFailures} partial, ${stats.handlerErrors} errors); drained ${formatMs(drainMs)} after the workload`,
  );
  let identical = drained;
  for (const [slave, comparison] of comparisons) {
    const lag = observer.lag.overall(slave.name);
    const faults = Object.values(slave.proxy.stats.injected).reduce((sum, n) => sum + n, 0);
    const verdict = comparison.identical
      ? `identical (${comparison.masterItems} items)`
      : `DIFFERS: ${comparison.missing} missing, ${comparison.extra} extra, ${comparison.different} different; e.g. ${[...comparison.sampleKeys.missing, ...comparison.sampleKeys.extra, ...comparison.sampleKeys.different].slice(0, 3).join(' ')}`;
    say(
      `  ${slave.name.padEnd(5)}     ${where(slave).padEnd(38)} lag p50 ${formatMs(lag.p50)}, p99 ${formatMs(lag.p99)}, max ${formatMs(lag.max)}; ${faults} faults injected; ${verdict}`,
    );
    identical &&= comparison.identical;
  }
  say('');
  say(identical ? 'Every slave matches the master.' : 'At least one slave does NOT match the master.');
  return identical ? EXIT_OK : EXIT_DIFFERENT;
}

async function main(): Promise<number> {
  let options: DemoOptions | undefined;
  try {
    options = parseDemoOptions(process.argv.slice(2), process.stdout.isTTY);
  } catch (error) {
    if (!(error instanceof OptionError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return EXIT_USAGE;
  }
  if (options === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return EXIT_OK;
  }

  const output = captureOutput(join(tmpdir(), `dynamo-replicator-demo-${process.pid}.log`));
  const cleanup = new Cleanup();
  const interrupt = new AbortController();
  let firstInterruptAt: number | undefined;
  const onSignal = (): void => {
    if (firstInterruptAt === undefined) {
      firstInterruptAt = Date.now();
      output.write('\nStopping (Ctrl-C again to force)...\n');
      interrupt.abort();
      return;
    }
    // A second Ctrl-C leaves at once (the exit hooks still kill every engine); one that
    // follows the first within a second is the same keypress seen twice (npm relays it).
    if (Date.now() - firstInterruptAt > 1_000) process.exit(EXIT_INTERRUPTED);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let code: number;
  try {
    code = await run(options, output, cleanup, interrupt.signal);
  } catch (error) {
    if (error instanceof Interrupted || interrupt.signal.aborted) {
      code = EXIT_INTERRUPTED;
    } else {
      output.writeError(`\nThe demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      code = EXIT_DIFFERENT;
    }
  }
  await cleanup.run();
  if (code === EXIT_INTERRUPTED) output.write('Interrupted: every engine and proxy is stopped.\n');
  await output.restore();
  return code;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(EXIT_DIFFERENT);
  },
);
