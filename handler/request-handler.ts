import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { CONNECTION_TIMEOUT_MS, REQUEST_TIMEOUT_MS } from './timing';

/** The options of the SDK's Node.js request handler that every client of the replicator is built with. */
export interface BoundedRequestHandler {
  readonly httpAgent: HttpAgent;
  readonly httpsAgent: HttpsAgent;
  readonly connectionTimeout: number;
  readonly requestTimeout: number;
  readonly throwOnRequestTimeout: boolean;
}

/**
 * Every attempt of every client (DynamoDB, STS, Lambda, S3) is bounded: a connection that does not open, or a response
 * that does not come, fails the attempt (see timing.ts). Sockets are kept alive and plentiful: the writer runs many
 * BatchWriteItem calls per slave at once.
 */
export function boundedRequestHandler(): BoundedRequestHandler {
  return {
    httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 128 }),
    httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 128 }),
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    // Without it, @smithy/node-http-handler 4.x only logs a warning when requestTimeout passes and lets the attempt hang.
    throwOnRequestTimeout: true,
  };
}
