import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { assumeRoleCredentials, sessionNameFor } from './assume-role';
import { boundedRequestHandler } from './request-handler';
import type { SlaveConfig } from './types';

/** Makes and keeps the DynamoDB clients of an invocation and the ones after it (warm starts reuse them). */
export interface ClientProvider {
  /** The client that writes a slave: one per region, endpoint and role, shared by slaves that have them in common. */
  forSlave(slave: SlaveConfig): DynamoDBClient;
  /**
   * The client of the master's region: it reads the master and reads and writes the state table. Without an explicit endpoint (the function never has one), the
   * SDK's AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL apply; the command-line tool passes one for local engines.
   */
  forMaster(region: string, endpoint?: string): DynamoDBClient;
}

/**
 * A DynamoDB client for the replicator's hot path. Retries are the replicator's own (one attempt per SDK call). The
 * SDK's logger middleware is removed: with no logger configured it still builds a redacted copy of every request
 * for a log line nobody writes, about a tenth of the function's CPU when writing large batches.
 */
export function createDynamoDBClient(config: DynamoDBClientConfig): DynamoDBClient {
  const client = new DynamoDBClient({ maxAttempts: 1, requestHandler: boundedRequestHandler(), ...config });
  client.middlewareStack.remove('loggerMiddleware');
  return client;
}

/** The default provider: real SDK clients, retries left to the replicator (one attempt per SDK call). */
export function createClientProvider(): ClientProvider {
  const clients = new Map<string, DynamoDBClient>();
  const cached = (id: string, make: () => DynamoDBClient): DynamoDBClient => {
    let client = clients.get(id);
    if (client === undefined) {
      client = make();
      clients.set(id, client);
    }
    return client;
  };
  return {
    forSlave: (slave) =>
      cached(JSON.stringify(['slave', slave.region, slave.endpoint ?? '', slave.roleArn ?? '', slave.externalId ?? '']), () => {
        const credentials =
          slave.roleArn === undefined
            ? undefined
            : assumeRoleCredentials({
                roleArn: slave.roleArn,
                region: slave.region,
                sessionName: sessionNameFor(slave.name),
                ...(slave.externalId === undefined ? {} : { externalId: slave.externalId }),
              });
        return createDynamoDBClient({
          region: slave.region,
          ...(slave.endpoint === undefined ? {} : { endpoint: slave.endpoint }),
          ...(credentials === undefined ? {} : { credentials }),
        });
      }),
    forMaster: (region, endpoint) =>
      cached(
        JSON.stringify(['master', region, endpoint ?? '']),
        () => createDynamoDBClient({ region, ...(endpoint === undefined ? {} : { endpoint }) }),
      ),
  };
}
