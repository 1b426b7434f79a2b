/**
 * The demo's local "regions": DynamoDB Local engines, the master and slave tables, and a
 * proxy in front of every slave (to measure when writes land, and to inject faults).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { localClientConfig, startDynamoDbLocal, type DynamoDbLocal } from '../../test/support/dynamodb-local';
import { FaultKind, startFaultProxy, type BatchWriteObservation, type FaultProxy } from '../../test/support/fault-proxy';
import { createTable } from '../../test/support/tables';
import { DemoFault } from './options';

/** The master's region and table name. */
export const MASTER = { region: 'us-east-1', tableName: 'orders' } as const;
/** The replicator's state table, as the module names it (`<name>-state`). */
export const STATE_TABLE = 'dynamo-replicator-demo-state';

/** The first slave shares the master's engine; the others each get one. */
const SLAVE_PLAN = [
  { name: 'copy', region: 'us-east-1', tableName: 'orders-copy' },
  { name: 'eu', region: 'eu-west-1', tableName: 'orders' },
  { name: 'ap', region: 'ap-southeast-2', tableName: 'orders' },
  { name: 'sa', region: 'sa-east-1', tableName: 'orders' },
  { name: 'ca', region: 'ca-central-1', tableName: 'orders' },
] as const;

/** Share of the faulty slave's BatchWriteItem calls that are throttled. */
const THROTTLE_PROBABILITY = 0.5;

/** One slave table and how to reach it. */
export interface DemoSlave {
  readonly name: string;
  readonly region: string;
  readonly tableName: string;
  readonly sharesMasterEngine: boolean;
  /** Reads the slave directly, for the final verification. */
  readonly client: DynamoDBClient;
  /** The endpoint the replicator writes through. */
  readonly proxy: FaultProxy;
  readonly faulty: boolean;
}

/** Everything the demo started. */
export interface Topology {
  readonly master: {
    readonly region: string;
    readonly tableName: string;
    readonly endpoint: string;
    readonly streamArn: string;
    readonly client: DynamoDBClient;
    readonly streams: DynamoDBStreamsClient;
  };
  readonly slaves: readonly DemoSlave[];
  readonly engineStartupMs: readonly number[];
  /** The `REPLICATOR_SLAVES` value for the bundled function. */
  readonly slavesEnv: string;
  /** The state table (string `pk`, `sk`) in the master's engine, where a slave's changes are parked. */
  readonly stateTable: string;
}

/** Options of {@link startTopology}. */
export interface TopologyOptions {
  readonly slaves: number;
  readonly fault: DemoFault;
  readonly seed: number;
  /** Registers a stop function; they run in reverse order on shutdown, even after a failed start. */
  readonly onCleanup: (stop: () => Promise<void> | void) => void;
  readonly onBatchWrite: (slave: string, observation: BatchWriteObservation) => void;
}

/** Starts the engines (in parallel), proxies and tables. */
export async function startTopology(options: TopologyOptions): Promise<Topology> {
  const plan = SLAVE_PLAN.slice(0, options.slaves);
  const engines: DynamoDbLocal[] = await Promise.all(
    Array.from({ length: options.slaves }, async () => {
      const engine = await startDynamoDbLocal();
      options.onCleanup(() => engine.stop());
      return engine;
    }),
  );
  const [masterEngine, ...slaveEngines] = engines;
  if (masterEngine === undefined) throw new Error('no engine started');

  const client = (endpoint: string, region: string): DynamoDBClient => {
    const created = new DynamoDBClient(localClientConfig(endpoint, region));
    options.onCleanup(() => created.destroy());
    return created;
  };
  const masterClient = client(masterEngine.endpoint, MASTER.region);
  const streams = new DynamoDBStreamsClient(localClientConfig(masterEngine.endpoint, MASTER.region));
  options.onCleanup(() => streams.destroy());
  const master = await createTable(masterClient, { tableName: MASTER.tableName, streamViewType: 'NEW_AND_OLD_IMAGES' });
  if (master.streamArn === undefined) throw new Error('the master table has no stream');
  const stateTable = await createTable(masterClient, { tableName: STATE_TABLE, sortKey: { name: 'sk', type: 'S' } });

  const slaves = await Promise.all(
    plan.map(async (slave, index): Promise<DemoSlave> => {
      const engine = index === 0 ? masterEngine : slaveEngines[index - 1];
      if (engine === undefined) throw new Error(`no engine for slave ${slave.name}`);
      const proxy = await startFaultProxy({
        target: engine.endpoint,
        seed: options.seed + index,
        onBatchWrite: (observation) => options.onBatchWrite(slave.name, observation),
      });
      options.onCleanup(() => proxy.stop());
      const faulty = options.fault === DemoFault.THROTTLE && index === plan.length - 1;
      if (faulty) {
        // Rules are drawn in turn: a quarter of the calls get the first error, a third of the
        // rest the second, so half of them are throttled, evenly split between the two.
        proxy.failRandomly(FaultKind.PROVISIONED_THROUGHPUT_EXCEEDED, THROTTLE_PROBABILITY / 2);
        proxy.failRandomly(FaultKind.THROTTLING, THROTTLE_PROBABILITY / 2 / (1 - THROTTLE_PROBABILITY / 2));
      }
      const slaveClient = index === 0 ? masterClient : client(engine.endpoint, slave.region);
      await createTable(slaveClient, { tableName: slave.tableName });
      return { ...slave, sharesMasterEngine: index === 0, client: slaveClient, proxy, faulty };
    }),
  );

  const slavesEnv = JSON.stringify(
    Object.fromEntries(
      slaves.map((slave) => [slave.name, { region: slave.region, table_name: slave.tableName, endpoint: slave.proxy.endpoint }]),
    ),
  );
  return {
    master: {
      region: MASTER.region,
      tableName: MASTER.tableName,
      endpoint: masterEngine.endpoint,
      streamArn: master.streamArn,
      client: masterClient,
      streams,
    },
    slaves,
    engineStartupMs: engines.map((engine) => engine.startupMs),
    slavesEnv,
    stateTable: stateTable.tableName,
  };
}
