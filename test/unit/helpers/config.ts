import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { libraryConfig } from '../../../handler/config';
import type { ClientProvider } from '../../../handler/clients';
import type { ReplicatorConfig, SlaveConfig } from '../../../handler/types';

export const STATE_TABLE = 'orders-replicator-state';
export const MASTER_TABLE = 'orders';

export const EU: SlaveConfig = { name: 'eu', region: 'eu-west-1', tableName: 'orders-eu' };
export const US: SlaveConfig = { name: 'us', region: 'us-east-1', tableName: 'orders-us' };

/** The settings of a deployed replicator (state table, master, name), with the library defaults for the rest. */
export function deployedConfig(overrides: Partial<ReplicatorConfig> = {}): ReplicatorConfig {
  return {
    ...libraryConfig([EU, US]),
    deadlineMarginMs: 0,
    replicatorName: 'orders-replicator',
    stateTable: STATE_TABLE,
    masterTable: MASTER_TABLE,
    masterRegion: 'eu-west-1',
    ...overrides,
  };
}

/**
 * A client provider whose clients are plain SDK clients: a file's one `mockClient(DynamoDBClient)` answers for all of
 * them, and the tests tell the tables apart by name.
 */
export function mockedClients(): ClientProvider {
  const client = new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  return { forSlave: () => client, forMaster: () => client };
}
