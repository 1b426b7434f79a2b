/**
 * An HTTP proxy on loopback in front of one DynamoDB Local engine, given to a slave as
 * its `endpoint`, that makes BatchWriteItem calls fail the ways DynamoDB does:
 * throttling (400 ProvisionedThroughputExceededException or ThrottlingException), a 500
 * InternalServerError, or partial success (only some write requests applied, the rest
 * handed back as UnprocessedItems). Every other call passes through untouched.
 *
 * DynamoDB Local does not check request signatures, so the proxy may rewrite a body.
 */
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { seededRandom } from './workload';

/** The faults the proxy can inject. */
export const FaultKind = {
  /** 400 ProvisionedThroughputExceededException. */
  PROVISIONED_THROUGHPUT_EXCEEDED: 'provisioned-throughput-exceeded',
  /** 400 ThrottlingException, with `throttlingReasons`. */
  THROTTLING: 'throttling',
  /** 500 InternalServerError. */
  INTERNAL_SERVER_ERROR: 'internal-server-error',
  /** 200 with part of the write requests returned as UnprocessedItems. */
  PARTIAL: 'partial',
  /** 503 ServiceUnavailable: a slave region in trouble. */
  SERVICE_UNAVAILABLE: 'service-unavailable',
  /** 400 AccessDeniedException: a role changed under the replicator. */
  ACCESS_DENIED: 'access-denied',
  /** The call reaches the engine and is applied, but its answer comes only after `delayMs` (or never, if the caller gave up). */
  SLOW_RESPONSE: 'slow-response',
} as const;
/** One of {@link FaultKind}. */
export type FaultKind = (typeof FaultKind)[keyof typeof FaultKind];

/** Options of a fault rule. */
export interface FaultOptions {
  /** For {@link FaultKind.PARTIAL}: the share of write requests held back (at least one); default 0.5. */
  readonly unprocessedFraction?: number;
  /** For {@link FaultKind.SLOW_RESPONSE}: how long the answer is held; default 60 s. */
  readonly delayMs?: number;
}

/** What the proxy saw of one BatchWriteItem call that reached the engine. */
export interface BatchWriteObservation {
  /** Epoch milliseconds at which the engine answered. */
  readonly at: number;
  /** The write requests the engine applied, per table name (DynamoDB JSON, binary as base64). */
  readonly applied: Readonly<Record<string, readonly WriteRequestJson[]>>;
  /** Write requests handed back to the caller as UnprocessedItems, injected or not. */
  readonly unprocessed: number;
}

/** A write request of a BatchWriteItem body, as JSON. */
export interface WriteRequestJson {
  readonly PutRequest?: { readonly Item: Record<string, unknown> };
  readonly DeleteRequest?: { readonly Key: Record<string, unknown> };
}

/** Counters, read with {@link FaultProxy.stats}. */
export interface FaultProxyStats {
  requests: number;
  batchWriteCalls: number;
  /** Faults injected, by kind. */
  injected: Record<FaultKind, number>;
  /** Write requests the proxy held back as UnprocessedItems. */
  heldBackWrites: number;
}

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** The engine's endpoint, e.g. `http://127.0.0.1:8000`. */
  readonly target: string;
  /** Seed of the random choices (probabilistic faults, which writes to hold back); default 1. */
  readonly seed?: number;
  /** Called for every BatchWriteItem call the engine answered with 200. */
  readonly onBatchWrite?: (observation: BatchWriteObservation) => void;
  /**
   * Awaited before any other call is forwarded, with its operation (`UpdateItem`) and parsed body: a test holds a
   * call here to make another party act at exactly that point.
   */
  readonly beforeForward?: (operation: string, body: unknown) => Promise<void> | void;
}

/** A running proxy. */
export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: give this to the slave as its endpoint. */
  readonly endpoint: string;
  readonly port: number;
  /** A snapshot of the counters. */
  readonly stats: Readonly<FaultProxyStats>;
  /** Fails the next `count` BatchWriteItem calls with `kind` (queued after earlier `failNext` calls). */
  failNext(kind: FaultKind, count?: number, options?: FaultOptions): void;
  /** Fails each BatchWriteItem call with `kind` with this probability (0-1), drawn from the seeded generator. */
  failRandomly(kind: FaultKind, probability: number, options?: FaultOptions): void;
  /** Removes every queued and probabilistic fault. */
  clearFaults(): void;
  /** Closes the proxy and its connections. */
  stop(): Promise<void>;
}

const BATCH_WRITE_TARGET = 'DynamoDB_20120810.BatchWriteItem';
const JSON_CONTENT_TYPE = 'application/x-amz-json-1.0';

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => done(Buffer.concat(chunks)));
    stream.once('error', fail);
  });
}

/** The error bodies DynamoDB sends, byte for byte in shape. */
function errorResponse(kind: Exclude<FaultKind, 'partial' | 'slow-response'>, tables: readonly string[]): { status: number; body: unknown } {
  const reasons = tables.map((table) => ({
    reason: 'TableWriteProvisionedThroughputExceeded',
    resource: `arn:aws:dynamodb:us-east-1:000000000000:table/${table}`,
  }));
  switch (kind) {
    case FaultKind.PROVISIONED_THROUGHPUT_EXCEEDED:
      return {
        status: 400,
        body: {
          __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
          message:
            'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
          ThrottlingReasons: reasons,
        },
      };
    case FaultKind.THROTTLING:
      return {
        status: 400,
        body: {
          __type: 'com.amazon.coral.availability#ThrottlingException',
          message: 'Rate of requests exceeds the allowed throughput.',
          throttlingReasons: reasons,
        },
      };
    case FaultKind.INTERNAL_SERVER_ERROR:
      return {
        status: 500,
        body: { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'Internal server error' },
      };
    case FaultKind.SERVICE_UNAVAILABLE:
      return { status: 503, body: { __type: 'com.amazonaws.dynamodb.v20120810#ServiceUnavailableException', message: 'Service unavailable' } };
    case FaultKind.ACCESS_DENIED:
      return {
        status: 400,
        body: { __type: 'com.amazon.coral.service#AccessDeniedException', message: 'User is not authorized to perform: dynamodb:BatchWriteItem' },
      };
  }
}

interface FaultRule {
  readonly kind: FaultKind;
  readonly options: FaultOptions;
}

type RequestItems = Record<string, WriteRequestJson[]>;

function isRequestItems(value: unknown): value is RequestItems {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.values(value).every((requests) => Array.isArray(requests))
  );
}

function countWrites(items: RequestItems): number {
  return Object.values(items).reduce((sum, requests) => sum + requests.length, 0);
}

/**
 * Splits the write requests into those forwarded and those held back. At least one is
 * held back, and at least one forwarded when there are two or more, so the caller sees
 * real progress and a real remainder.
 */
function splitWrites(items: RequestItems, fraction: number, random: () => number): { forward: RequestItems; holdBack: RequestItems } {
  const all = Object.entries(items).flatMap(([table, requests]) => requests.map((request) => ({ table, request })));
  const target = Math.min(Math.max(1, Math.round(all.length * fraction)), Math.max(1, all.length - 1));
  const order = all.map((entry) => ({ entry, draw: random() })).sort((a, b) => a.draw - b.draw);
  const heldBack = new Set(order.slice(0, target).map(({ entry }) => entry));
  const forward: RequestItems = {};
  const holdBack: RequestItems = {};
  for (const entry of all) {
    const side = heldBack.has(entry) ? holdBack : forward;
    (side[entry.table] ??= []).push(entry.request);
  }
  return { forward, holdBack };
}

function mergeUnprocessed(engine: unknown, heldBack: RequestItems): RequestItems {
  const merged: RequestItems = isRequestItems(engine) ? { ...engine } : {};
  for (const [table, requests] of Object.entries(heldBack)) merged[table] = [...(merged[table] ?? []), ...requests];
  return merged;
}

/** Starts a proxy on 127.0.0.1 (a free port) in front of `options.target`. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const random = seededRandom(options.seed ?? 1);
  const queued: FaultRule[] = [];
  let probabilistic: (FaultRule & { probability: number })[] = [];
  const stats: FaultProxyStats = {
    requests: 0,
    batchWriteCalls: 0,
    injected: {
      [FaultKind.PROVISIONED_THROUGHPUT_EXCEEDED]: 0,
      [FaultKind.THROTTLING]: 0,
      [FaultKind.INTERNAL_SERVER_ERROR]: 0,
      [FaultKind.SERVICE_UNAVAILABLE]: 0,
      [FaultKind.ACCESS_DENIED]: 0,
      [FaultKind.SLOW_RESPONSE]: 0,
      [FaultKind.PARTIAL]: 0,
    },
    heldBackWrites: 0,
  };

  function chooseFault(): FaultRule | undefined {
    const next = queued.shift();
    if (next) return next;
    for (const rule of probabilistic) if (random() < rule.probability) return rule;
    return undefined;
  }

  function forward(
    incoming: IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
    return new Promise((done, fail) => {
      const headers = { ...incoming.headers, host: target.host, 'content-length': String(body.length) };
      const outgoing = httpRequest(
        { protocol: target.protocol, hostname: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers, agent },
        (response) => {
          readBody(response).then(
            (responseBody) => done({ status: response.statusCode ?? 502, headers: response.headers, body: responseBody }),
            fail,
          );
        },
      );
      outgoing.once('error', fail);
      outgoing.end(body);
    });
  }

  function send(res: ServerResponse, status: number, headers: IncomingHttpHeaders, body: Buffer): void {
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(headers)) {
      // The body may have been rewritten: its length and checksum are recomputed or dropped.
      if (value === undefined || name === 'content-length' || name === 'x-amz-crc32' || name === 'transfer-encoding') continue;
      out[name] = value;
    }
    out['content-length'] = String(body.length);
    res.writeHead(status, out);
    res.end(body);
  }

  function sendJson(res: ServerResponse, status: number, value: unknown): void {
    send(res, status, { 'content-type': JSON_CONTENT_TYPE, 'x-amzn-requestid': `fault-proxy-${stats.requests}` }, Buffer.from(JSON.stringify(value)));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    stats.requests += 1;
    const body = await readBody(req);
    const target = req.headers['x-amz-target'];
    if (target !== BATCH_WRITE_TARGET) {
      if (options.beforeForward !== undefined && typeof target === 'string') {
        await options.beforeForward(target.replace(/^DynamoDB_\d+\./, ''), JSON.parse(body.toString('utf8')) as unknown);
      }
      const answer = await forward(req, body);
      send(res, answer.status, answer.headers, answer.body);
      return;
    }
    stats.batchWriteCalls += 1;
    const parsed = JSON.parse(body.toString('utf8')) as { RequestItems?: unknown };
    const requestItems = isRequestItems(parsed.RequestItems) ? parsed.RequestItems : {};
    const fault = chooseFault();
    if (fault?.kind === FaultKind.SLOW_RESPONSE) {
      stats.injected[fault.kind] += 1;
      const answer = await forward(req, body);
      await new Promise<void>((done) => {
        const timer = setTimeout(done, fault.options.delayMs ?? 60_000);
        res.once('close', () => {
          clearTimeout(timer);
          done();
        });
      });
      if (!res.destroyed) send(res, answer.status, answer.headers, answer.body);
      return;
    }
    if (fault && fault.kind !== FaultKind.PARTIAL) {
      stats.injected[fault.kind] += 1;
      const { status, body: errorBody } = errorResponse(fault.kind, Object.keys(requestItems));
      sendJson(res, status, errorBody);
      return;
    }
    let forwarded = requestItems;
    let heldBack: RequestItems = {};
    let forwardBody = body;
    if (fault && countWrites(requestItems) > 0) {
      const split = splitWrites(requestItems, fault.options.unprocessedFraction ?? 0.5, random);
      forwarded = split.forward;
      heldBack = split.holdBack;
      stats.injected[FaultKind.PARTIAL] += 1;
      stats.heldBackWrites += countWrites(heldBack);
      forwardBody = Buffer.from(JSON.stringify({ ...parsed, RequestItems: forwarded }));
    }
    const answer =
      countWrites(forwarded) > 0
        ? await forward(req, forwardBody)
        : { status: 200, headers: { 'content-type': JSON_CONTENT_TYPE }, body: Buffer.from('{"UnprocessedItems":{}}') };
    if (answer.status !== 200) {
      send(res, answer.status, answer.headers, answer.body);
      return;
    }
    const response = JSON.parse(answer.body.toString('utf8')) as { UnprocessedItems?: unknown };
    const unprocessed = mergeUnprocessed(response.UnprocessedItems, heldBack);
    if (options.onBatchWrite) {
      const engineUnprocessed = isRequestItems(response.UnprocessedItems) ? response.UnprocessedItems : {};
      const applied: RequestItems = {};
      for (const [table, requests] of Object.entries(forwarded)) {
        const skipped = new Set((engineUnprocessed[table] ?? []).map((request) => JSON.stringify(request)));
        applied[table] = requests.filter((request) => !skipped.has(JSON.stringify(request)));
      }
      options.onBatchWrite({ at: Date.now(), applied, unprocessed: countWrites(unprocessed) });
    }
    if (countWrites(heldBack) === 0) {
      send(res, answer.status, answer.headers, answer.body);
      return;
    }
    send(res, 200, answer.headers, Buffer.from(JSON.stringify({ ...response, UnprocessedItems: unprocessed })));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // The engine is unreachable or the body was not JSON: answer as a gateway would.
      if (!res.headersSent) sendJson(res, 502, { __type: 'FaultProxyError', message: String(error) });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => done());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    get stats() {
      return { ...stats, injected: { ...stats.injected } };
    },
    failNext(kind, count = 1, faultOptions = {}) {
      for (let i = 0; i < count; i += 1) queued.push({ kind, options: faultOptions });
    },
    failRandomly(kind, probability, faultOptions = {}) {
      if (!(probability >= 0 && probability <= 1)) throw new RangeError(`probability must be in 0-1, got ${probability}`);
      probabilistic = [...probabilistic.filter((rule) => rule.kind !== kind), { kind, probability, options: faultOptions }];
    },
    clearFaults() {
      queued.length = 0;
      probabilistic = [];
    },
    stop() {
      return new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
        agent.destroy();
      });
    },
  };
}
