import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ClientProvider } from '../clients';
import type { SlaveTarget } from '../slave-writer';
import type { SlaveConfig } from '../types';
import type { MasterLocation } from './options';

/** The master table and the client that reads it. */
export interface MasterTarget {
  readonly tableName: string;
  readonly region: string;
  readonly client: DynamoDBClient;
  /** How the master is named in messages. */
  readonly label: string;
}

/** The client of the master. */
export function connectMaster(master: MasterLocation, clients: ClientProvider): MasterTarget {
  const client = clients.forMaster(master.region, master.endpoint);
  return { tableName: master.tableName, region: master.region, client, label: `master table ${master.tableName} in ${master.region}` };
}

/** The writer's targets for the slaves. */
export function connectSlaves(slaves: readonly SlaveConfig[], clients: ClientProvider): SlaveTarget[] {
  return slaves.map((slave) => ({ name: slave.name, tableName: slave.tableName, region: slave.region, client: clients.forSlave(slave) }));
}
