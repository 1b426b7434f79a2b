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
 *
 * The client also resolves its middleware once per command type (the SDK's `cacheMiddleware`), not on every call:
 * about a sixth of a BatchWriteItem call's CPU. The SDK uses that cache only for a `send` without options, and every
 * call of the replicator passes its deadline's abort signal, which must still reach the request (see timing.ts: no
 * abandoned write may land later). So `send` with an abort signal and nothing else sends without options, and the
 * signal travels beside the call: from the command's input to its HTTP request, and from there to the request
 * handler. A `send` with any other option, or a callback, goes through the SDK unchanged.
 */
export function createDynamoDBClient(config: DynamoDBClientConfig): DynamoDBClient {
  const client = new DynamoDBClient({ maxAttempts: 1, requestHandler: boundedRequestHandler(), cacheMiddleware: true, ...config });
  client.middlewareStack.remove('loggerMiddleware');
  carryAbortSignals(client);
  return client;
}

/** The abort signal of each call in flight, by its command's input, and then by its HTTP request. */
const signalOfInput = new WeakMap<object, AbortSignal>();
const signalOfRequest = new WeakMap<object, AbortSignal>();

type Send = (command: { readonly input: object }, options?: unknown, callback?: unknown) => unknown;

function carryAbortSignals(client: DynamoDBClient): void {
  const abortOnly = (options: unknown): AbortSignal | undefined => {
    if (typeof options !== 'object' || options === null) return undefined;
    const { abortSignal, ...rest } = options as { abortSignal?: unknown };
    return abortSignal instanceof AbortSignal && Object.keys(rest).length === 0 ? abortSignal : undefined;
  };
  // The prototype's send is looked up on every call, so a test's stub of DynamoDBClient.prototype.send still applies.
  const send: Send = function (this: DynamoDBClient, command, options, callback) {
    const prototypeSend = Reflect.get(DynamoDBClient.prototype, 'send') as Send;
    const signal = callback === undefined ? abortOnly(options) : undefined;
    if (signal === undefined) return prototypeSend.call(this, command, options, callback);
    signalOfInput.set(command.input, signal);
    return prototypeSend.call(this, command);
  };
  Object.assign(client, { send });
  // Last before the request handler: the request the handler gets.
  client.middlewareStack.add(
    (next) => (args) => {
      const signal = signalOfInput.get(args.input);
      if (signal !== undefined && typeof args.request === 'object' && args.request !== null) signalOfRequest.set(args.request, signal);
      return next(args);
    },
    { step: 'deserialize', priority: 'low', name: 'replicatorAbortSignal' },
  );
  const handler = client.config.requestHandler as { handle: (request: object, options?: { abortSignal?: AbortSignal }) => Promise<unknown> };
  const handle = handler.handle.bind(handler);
  handler.handle = (request, options) => {
    const signal = signalOfRequest.get(request);
    return handle(request, signal === undefined ? options : { ...options, abortSignal: signal });
  };
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
